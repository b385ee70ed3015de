"""Minimum Volume Ellipsoid (MVE) location and scatter, as rrcov's ``CovMve``.

Rousseeuw (1985): the centre and shape of the smallest ellipsoid covering h of the n points.
As rrcov (after Rousseeuw & Leroy 1987 and the C code of ``r_fast_mve``): random (p+1)-subsets
give ellipsoids; each is replaced by the mean m_H and covariance C_H of its h closest points,
scored by the MVE objective median_i d_i^2(m_H, C_H) * det(C_H)^(1/p) (proportional to the
squared volume^(1/p) of the ellipsoid {d^2 <= median} through half of the points). The best
ones are then concentrated further (C-steps, keeping the best objective met on the way), which
rrcov does not do: it can only lower the objective. Raw estimate: (m_H, c_alpha C_H) with
c_alpha = quantile(d^2, h/n) / chi2_p(h/n); reweighting with hard rejection at chi2_p(0.975)
as for the MCD.
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
from ._base import FitResult
from ._batch import QuadraticFeatures
from ._mcd_factors import h_alpha_n, mcd_consistency
from ._mcd_fast import _cholesky, _logdet, _moments, _random_subsets
from ._mcd_init import hyperplane_error
from ._robust import RejectionCount, affine_fit_data, sq_distances

__all__ = ["MVEResult", "mve"]

#: Quantile of chi2_p below which a point keeps weight 1 in the reweighting step.
REWEIGHT_QUANTILE = 0.975
#: Candidates concentrated further after the random search: N_REFINE, or as many as
#: REFINE_BUDGET / (n p) allows (all of them on small data, where it is cheap).
N_REFINE = 10
REFINE_BUDGET = 100_000
#: Above this many rows the random candidates are screened on a subsample of this size.
SCREEN_N = 20_000
#: Cap on the C-steps of one candidate.
MAX_STEPS = 100
#: Distances held at once (candidates x rows).
_BLOCK = 1 << 22


class MVEResult(RejectionCount, FitResult):
    """A fitted MVE: a :class:`~mahalanobis.Metric` (``center``, ``cov``: reweighted, or raw
    with ``reweight=False``) and its diagnostics.

    Attributes
    ----------
    objective : float
        The MVE objective of the best subset: median_i d_i^2(m_H, C_H) * det(C_H)^(1/p),
        C_H the covariance (divisor h - 1) of the h-subset (rrcov's ``crit``).
    raw_center, raw_cov : ndarray
        m_H and c_alpha C_H (rrcov ``raw.center``, ``raw.cov``).
    consistency_raw : float
        c_alpha = quantile(d^2(m_H, C_H), h/n) / chi2_p(h/n) (R's type-7 quantile).
    consistency_rew : float
        ``.MCDcons(p, 0.975)``, the factor for hard rejection at chi2_p(0.975) (1 when every
        point keeps weight 1); rrcov 1.7-2 uses ``.MCDcons(p, sum(w)/n)``.
    h : int
        Subset size ``h_alpha_n(support_fraction, n, p)``.
    support : ndarray of bool
        The best h-subset (rrcov ``best``).
    weights : ndarray of bool
        Raw squared distance below chi2_p(0.975).
    raw_distances : ndarray
        Squared distances w.r.t. the raw estimate.
    n_starts, n_singular : int
        Random subsets drawn and how many of them were singular (rrcov ``nsing``).
    n_iterations : int
        C-steps taken by the winning candidate after the random search.
    breakdown_point : float
        (n - h + 1) / n, about 1 - support_fraction.
    support_fraction : float
        The argument.
    reweighted : bool
        Whether the reweighting step ran.

    See Also
    --------
    mve : The estimator that returns it.
    MCDResult : The minimum covariance determinant.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6
    >>> r = mh.fit(X, method="mve", random_state=0)
    >>> r.h, bool(r.support[:5].any())
    (52, False)
    """

    _fields = ("objective", "raw_center", "raw_cov", "consistency_raw", "consistency_rew", "h",
               "support", "weights", "raw_distances", "n_starts", "n_singular", "n_iterations",
               "breakdown_point", "support_fraction", "reweighted")
    _repr_fields = ("support_fraction", "h", "objective", "n_outliers", "reweighted")
    objective: float
    raw_center: np.ndarray
    raw_cov: np.ndarray
    consistency_raw: float
    consistency_rew: float
    h: int
    support: np.ndarray
    weights: np.ndarray
    raw_distances: np.ndarray
    n_starts: int
    n_singular: int
    n_iterations: int
    breakdown_point: float
    support_fraction: float
    reweighted: bool


def h_smallest_mask(d2: np.ndarray, h: int, thr: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask (S, n) of the h smallest entries of each row (ties: lowest index);
    ``thr`` the h-th smallest of each row when known."""
    if thr is None:
        thr = select_rows(d2, (h - 1,))[0]
    M = d2 <= thr[:, None]
    for s in np.flatnonzero(M.sum(axis=1) != h):
        at = np.flatnonzero(d2[s] == thr[s])
        M[s, at[h - int(np.count_nonzero(d2[s] < thr[s])):]] = False
    return M


def _median_and_kth(d2: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Row medians and h-th smallest values of d2, from one selection."""
    n = d2.shape[1]
    mids: tuple[int, ...] = (n // 2,) if n % 2 else (n // 2 - 1, n // 2)
    ks = tuple(sorted({*mids, h - 1}))
    v = dict(zip(ks, select_rows(d2, ks)))
    med = v[mids[0]] if n % 2 else (v[mids[0]] + v[mids[1]]) / 2.0
    return med, v[h - 1]


def _step(Q: QuadraticFeatures, d2: np.ndarray, thr: np.ndarray | None, h: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One MVE step for S candidates given their distances d2 (S, n) (and the h-th smallest
    of each row, if known): H = the h closest points, (m_H, C_H) and the objective
    median d^2(m_H, C_H) det(C_H)^(1/p) (+inf when C_H is singular). Returns (H as a mask,
    objective, distances to (m_H, C_H) and their h-th smallest values)."""
    p = Q.p
    M = h_smallest_mask(d2, h, thr)
    _, m, C = Q.moments(M.astype(float), divisor=np.full(M.shape[0], h - 1.0))
    L, bad = _cholesky(C)
    L[bad] = np.eye(p)
    d2H = Q.sq_dists(m, L)
    med, thr_next = _median_and_kth(d2H, h)
    obj = med * np.exp(_logdet(L) / p)
    obj[bad] = np.inf
    return M, obj, d2H, thr_next


def _first_steps(Q: QuadraticFeatures, mu: np.ndarray, L: np.ndarray, good: np.ndarray,
                 h: int) -> tuple[np.ndarray, np.ndarray]:
    """rrcov's one step for the candidates ``good``: their h-subset masks and objectives."""
    S, n = mu.shape[0], Q.n
    step = max(1, _BLOCK // n)
    objs = np.full(S, np.inf)
    masks = np.zeros((S, n), dtype=bool)
    for a in range(0, good.size, step):
        g = good[a:a + step]
        masks[g], objs[g], _, _ = _step(Q, Q.sq_dists(mu[g], L[g]), None, h)
    return masks, objs


def _distinct_best(masks: np.ndarray, objs: np.ndarray, k: int) -> list[int]:
    order = np.argsort(objs, kind="stable")
    keep: list[int] = []
    seen: set[bytes] = set()
    for s in order[np.isfinite(objs[order])]:
        key = np.packbits(masks[s]).tobytes()
        if key not in seen:
            seen.add(key)
            keep.append(int(s))
        if len(keep) == k:
            break
    return keep


def _search(Q: QuadraticFeatures, idx: np.ndarray, h: int, n_refine: int,
            rng: np.random.Generator) -> tuple[np.ndarray, float, int, int]:
    """Score the (p+1)-subsets ``idx`` (one step each, as rrcov), then concentrate the best
    ``n_refine`` distinct candidates (C-steps until their subset repeats), keeping the best
    objective met. For n > SCREEN_N the candidates are first scored on a random subsample of
    SCREEN_N rows and only the best 5 n_refine are scored on all rows (the subsample ranks
    them as the full data would, up to its noise, at a fraction of the cost). Returns (best
    subset mask, objective, steps of the winner, singular starts)."""
    n = Q.n
    mu, C = _moments(Q.Z, idx)
    L, bad = _cholesky(C)
    good = np.flatnonzero(~bad)
    if n > SCREEN_N:
        sub = np.sort(rng.choice(n, SCREEN_N, replace=False))
        hs = math.ceil(h * SCREEN_N / n)
        sm, so = _first_steps(QuadraticFeatures(Q.Z[sub]), mu, L, good, hs)
        good = np.array(sorted(_distinct_best(sm, so, 5 * n_refine)), dtype=np.intp)
    masks, objs = _first_steps(Q, mu, L, good, h)
    keep = _distinct_best(masks, objs, n_refine)
    if not keep:
        return masks[0], np.inf, 0, int(bad.sum())
    best_M, best_obj, best_steps = masks[keep[0]].copy(), float(objs[keep[0]]), 0
    cur = masks[keep]
    _, m, C = Q.moments(cur.astype(float), divisor=np.full(len(keep), h - 1.0))
    L, _ = _cholesky(C)
    d2 = Q.sq_dists(m, L)
    thr = None
    active = np.arange(len(keep))
    for it in range(1, MAX_STEPS + 1):
        new, o, d2n, thr_n = _step(Q, d2, thr, h)
        i = int(np.argmin(o))
        if o[i] < best_obj:
            best_M, best_obj, best_steps = new[i].copy(), float(o[i]), it
        moved = ~np.all(new == cur[active], axis=1) & np.isfinite(o)
        cur[active] = new
        active, d2, thr = active[moved], d2n[moved], thr_n[moved]
        if active.size == 0:
            break
    return best_M, best_obj, best_steps, int(bad.sum())


def _type7_quantile(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q))   # numpy's default "linear" is R's type 7


def mve(X: ArrayLike, *, support_fraction: float = 0.5, n_starts: int = 500,
        reweight: bool = True, random_state: object = None, progress: bool = False,
        nan_policy: str = "raise") -> MVEResult:
    """Minimum Volume Ellipsoid location and scatter (Rousseeuw 1985), as rrcov ``CovMve``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), n > p + 1
        The data.
    support_fraction : float in [0.5, 1]
        Share of the points the ellipsoid covers (rrcov ``alpha``): h =
        ``h_alpha_n(support_fraction, n, p)``; 0.5 gives the maximal breakdown point.
    n_starts : int
        Random (p+1)-subsets (rrcov ``nsamp``, 500); all of them when there are fewer.
    reweight : bool
        Return the reweighted estimate (default) or the raw one.
    random_state : None, int or numpy Generator
        Seeds the random starts; the same seed gives the same result.
    progress : bool
        Show a progress bar (needs the ``mahalanobis[progress]`` extra).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    MVEResult

    Raises
    ------
    ExactFitError
        When at least h points lie on a hyperplane (the MVE is then degenerate).
    SingularCovarianceError
        For n <= p + 1.

    See Also
    --------
    mcd, s_estimator

    Notes
    -----
    Rousseeuw, P. J. (1985), Multivariate estimation with high breakdown point, in
    Mathematical Statistics and Applications B, 283-297; Rousseeuw & Leroy (1987), Robust
    Regression and Outlier Detection, Sect. 7.1; rrcov's C ``r_fast_mve``. The objective is
    rrcov's; the candidates are concentrated (C-steps of Rousseeuw & Van Driessen 1999) after
    the random search, keeping the best objective, so on rrcov's 14 test data sets the
    objective is never worse than rrcov's (tests/test_robust_fixtures.py). Above 20000 rows
    the random candidates are ranked on a random subsample of 20000 rows and the best 50 are
    scored on all of them. Given the same
    subset the raw estimate equals rrcov's to rounding; the reweighted scatter uses
    ``.MCDcons(p, 0.975)`` as this package's MCD (robustbase >= 0.99), where rrcov 1.7-2 uses
    ``.MCDcons(p, sum(w)/n)``. rrcov's small-sample factor (1 + 15/(n - p))^2 is switched off
    in rrcov and here. The MVE converges at rate n^(-1/3) (Davies 1992): prefer the MCD or an
    S-estimator when efficiency matters; MVE is mostly a start for them.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 3))
    >>> X[:20] += 8                                  # 20% far outliers
    >>> r = mh.fit(X, method="mve", random_state=0)
    >>> r.h, int(r.support[:20].sum())               # the subset avoids every outlier
    (52, 0)
    >>> bool(np.all(r.distance(X[:20], squared=True) > 30))
    True
    """
    progress = check_bool(progress, "progress")
    reweight = check_bool(reweight, "reweight")
    support_fraction = check_fraction(
        support_fraction, "support_fraction", low=0.5, high=1.0, low_open=False,
        high_open=False, hint="support_fraction is the share of points the MVE covers "
        "(rrcov's alpha): 0.5 gives the highest breakdown point.")
    n_starts = check_int(n_starts, "n_starts", 1)
    data, A = affine_fit_data(X, nan_policy, "mve")
    n, p = A.shape
    rng = check_random_state(random_state)
    h = h_alpha_n(support_fraction, n, p)
    med = np.median(A, axis=0)
    spread = np.median(np.abs(A - med), axis=0)
    spread[spread == 0] = np.std(A, axis=0)[spread == 0]
    spread[spread == 0] = 1.0
    Z = (A - med) / spread
    bar = progress_bar(progress, total=2, desc="MVE", unit="stage")
    try:
        with single_threaded_blas():
            idx = _random_subsets(n, p + 1, n_starts, rng)
            n_refine = max(N_REFINE, REFINE_BUDGET // (n * p))
            mask, obj, n_iter, n_singular = _search(QuadraticFeatures(Z), idx, h, n_refine,
                                                    rng)
            bar.update(2)
            if not np.isfinite(obj):
                raise hyperplane_error(A, idx[0], h, "every candidate subset is singular")
            best = np.flatnonzero(mask)
    finally:
        bar.close()
    return _finish(A, data, best, h, support_fraction, reweight, idx.shape[0], n_singular,
                   n_iter)


def mve_objective(A: np.ndarray, support: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(objective, m_H, C_H) of the h-subset ``support`` of A (C_H with divisor h - 1)."""
    h, p = support.size, A.shape[1]
    sub = A[support]
    m = sub.mean(axis=0)
    E = sub - m
    C = (E.T @ E) / (h - 1)
    C = (C + C.T) / 2
    try:
        L = _linalg.cholesky(C, "MVE subset covariance")
    except ValueError:
        raise hyperplane_error(A, support, h, "the MVE subset") from None
    d2 = _linalg.sq_norms_of_whitened(A, m, _linalg.inverse_triangular(L), True)
    return float(np.median(d2)) * math.exp(_linalg.log_det_from_cholesky(L) / p), m, C


def _finish(A: np.ndarray, data: Data, best: np.ndarray, h: int, support_fraction: float,
            reweight: bool, n_starts: int, n_singular: int, n_iter: int) -> MVEResult:
    n, p = A.shape
    best = np.sort(best)
    objective, m, C = mve_objective(A, best)
    d2 = sq_distances(A, m, C)
    c_alpha = _type7_quantile(d2, h / n) / stats.chi2.ppf(h / n, p)
    raw_cov = c_alpha * C
    raw_d2 = d2 / c_alpha
    w = raw_d2 < stats.chi2.ppf(REWEIGHT_QUANTILE, p)
    center, cov, c_rew = m, raw_cov, 1.0
    if reweight:
        if w.sum() <= p:  # pragma: no cover - needs pathological data
            raise hyperplane_error(A, np.flatnonzero(w), h, "the reweighted MVE subset")
        sub = A[w]
        center = sub.mean(axis=0)
        E = sub - center
        cov = (E.T @ E) / (w.sum() - 1)
        cov = (cov + cov.T) / 2
        if w.sum() != n:
            c_rew = mcd_consistency(p, REWEIGHT_QUANTILE)
            cov = cov * c_rew
    mask = np.zeros(n, dtype=bool)
    mask[best] = True
    try:
        L = _linalg.cholesky(cov, "MVE scatter")
    except ValueError:
        rows = np.flatnonzero(w) if reweight else best
        raise hyperplane_error(A, rows, h, "the MVE estimate") from None
    return MVEResult._build(
        center, cov=cov, L=L, method="mve", n_samples=n, data=data, objective=objective,
        raw_center=m, raw_cov=raw_cov, consistency_raw=float(c_alpha),
        consistency_rew=float(c_rew), h=int(h), support=mask, weights=w,
        raw_distances=raw_d2, n_starts=int(n_starts), n_singular=int(n_singular),
        n_iterations=int(n_iter), breakdown_point=(n - h + 1) / n,
        support_fraction=float(support_fraction), reweighted=bool(reweight))
