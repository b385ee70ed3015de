"""S-estimators of location and scatter, as rrcov's ``CovSest`` ("sfast", "bisquare", "rocke").

An S-estimate (Davies 1987; Rousseeuw & Leroy 1987) minimises the M-scale s of the
Mahalanobis distances d_i = ((x_i - m)^T V^-1 (x_i - m))^(1/2) over centres m and shapes V with
det V = 1, where s solves mean rho(d_i / s) = b; the scatter is s^2 V. With Tukey's bisquare
rho and b = E rho(||Z||) = breakdown_point * rho(inf) it has that breakdown point and is
consistent at the normal.

* ``algorithm="fast_s"`` (default): the fast-S algorithm of Salibian-Barrera & Yohai (2006)
  as rrcov's C ``sest``: random (p+1)-subsets, two refining IRWLS steps each (all candidates at
  once, one matrix product per step), the best five by M-scale iterated -- here to
  convergence, with the scale solved exactly at every step, where rrcov stops after 50 steps.
* ``algorithm="mve_start"``: rrcov's methods "bisquare" and "rocke" (Maronna, Martin & Yohai
  2006, Sect. 6.10): standardise by median and MAD, start from the raw MVE, iterate rrcov's
  ``.iter.bic`` (bisquare with c = 1.56 whatever p, scale equation solved to 1e-4) or
  ``.iter.rocke`` (Rocke's translated biweight with a line search when a step does not descend),
  stop on a relative scale change of 1e-5, rescale the shape by median(d^2) / chi2_p(0.5).
* ``rho="rocke"``: Rocke's (1996) translated biweight on t = d^2 / sigma, which keeps its
  efficiency in high dimension where the bisquare's rejection point runs away (Maronna et al.
  2006 recommend it for p > 10).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .. import _linalg
from .._linalg import single_threaded_blas
from .._progress import progress_bar
from .._validation import check_bool, check_choice, check_fraction, check_int, check_random_state
from ..errors import SingularCovarianceError
from ._base import FitResult
from ._batch import QuadraticFeatures
from ._mcd_fast import _cholesky, _logdet, _random_subsets, _start_batch
from ._mcd_init import SingularSubset, hyperplane_error
from ._rho import (
    Loss,
    bisquare_location_efficiency,
    bisquare_rho,
    m_scale,
    median_distance,
    rocke_gamma,
    rocke_rho,
    rocke_weight,
    scale_at_normal,
    zeroin,
)
from ._robust import (
    affine_fit_data,
    exact_fit_from_scatter,
    sq_distances,
    sq_distances_fast,
    unit_det,
)

__all__ = ["SResult", "s_estimator"]

_RHOS = ("bisquare", "rocke")
_ALGORITHMS = ("fast_s", "mve_start")
#: fast-S: refining steps per start, candidates kept, iterations to convergence.
K_STEPS = 2
N_BEST = 5
MAX_ITER = 1000
#: Convergence of the final iterations: relative change of centre and shape.
TOL = 1e-13
#: Candidates scored at once (candidates x rows of distances).
_BLOCK = 1 << 17
#: rrcov's constants of its "bisquare" method and of its stopping rules.
RRCOV_BISQUARE_C = 1.56
RRCOV_EPS = 1e-5
RRCOV_MAXITER = 120


class SResult(FitResult):
    """A fitted S-estimate: a :class:`~mahalanobis.Metric` (``center``, ``cov``) and its
    diagnostics.

    Attributes
    ----------
    objective : float
        The scale minimised: the M-scale s of the distances to (center, shape), in the units
        of the distances (rrcov's ``crit`` for "sfast"; rrcov's "bisquare" and "rocke" report
        det(cov) instead, ``exp(log_det)`` here). For Rocke's rho, s^2 is its sigma.
    shape : ndarray
        The scatter scaled to determinant 1.
    weights : ndarray of shape (n_samples,)
        Final IRWLS weights psi(u)/u, scaled to a maximum of 1.
    rho, algorithm : str
    tuning_constant, b : float
        Bisquare: c and b = mean rho in the scale equation (rrcov ``cc``, ``kp``). Rocke:
        gamma (the half-width of the rejection interval) and delta.
    breakdown_point : float
    efficiency : float
        Asymptotic Gaussian efficiency of the location (bisquare: Lopuhaa 1989; Rocke:
        numerical integration at the estimator's limit).
    n_iterations : int
        Iterations of the final stage (rrcov's ``iter`` for "bisquare" and "rocke").
    converged : bool
        The final iteration met its stopping rule within its cap.
    n_starts : int
        Random subsets (fast-S) or MVE subsets (mve_start) drawn.

    See Also
    --------
    s_estimator : The estimator that returns it.
    MMResult : The MM-estimate started from it.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6
    >>> r = mh.fit(X, method="s_estimator", random_state=0)
    >>> r.rho, r.algorithm, r.converged, round(r.breakdown_point, 2)
    ('bisquare', 'fast_s', True, 0.5)
    """

    _fields = ("objective", "shape", "weights", "rho", "algorithm", "tuning_constant", "b",
               "breakdown_point", "efficiency", "n_iterations", "converged", "n_starts")
    _repr_fields = ("rho", "algorithm", "objective", "n_iterations")
    objective: float
    shape: np.ndarray
    weights: np.ndarray
    rho: str
    algorithm: str
    tuning_constant: float
    b: float
    breakdown_point: float
    efficiency: float
    n_iterations: int
    converged: bool
    n_starts: int


# --------------------------------------------------------------------------- fast-S
def _refine_batch(Q: QuadraticFeatures, mu: np.ndarray, L: np.ndarray, loss: Loss,
                  k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """k IRWLS steps for S candidates at once (rrcov ``refine_s`` with conv = 0): a step of
    the scale equation from s, then weighted mean and det-1 scatter. Returns (mu, L, d2, s)
    with d2 the squared distances to the final estimates and s the last scale step (a warm
    start for the exact scale); a candidate whose scatter turns singular keeps its start."""
    p = Q.p
    d2 = Q.sq_dists(mu, L)
    s = median_distance(d2) / 0.6745
    mu0, L0 = mu, L
    for _ in range(k):
        s = s * np.sqrt(loss.means(d2, s, slope=False)[0] / loss.b)
        W = loss.weights(d2, s)
        _, m1, C1 = Q.moments(W)
        L1, bad = _cholesky(C1)
        L1 = L1 * np.exp(-_logdet(np.where(bad[:, None, None], np.eye(p), L1))
                         / (2 * p))[:, None, None]
        L1[bad], m1[bad] = L0[bad], mu0[bad]
        mu, L = m1, L1
        d2 = Q.sq_dists(mu, L)
    return mu, L, d2, s


def _fast_s(Z: np.ndarray, loss: Loss, n_starts: int, rng: np.random.Generator,
            bar: Any) -> tuple[np.ndarray, np.ndarray]:
    """The best N_BEST candidates (mu (k, p), det-1 shape (k, p, p)) of the random search."""
    n, p = Z.shape
    start = _start_batch(Z, _random_subsets(n, p + 1, n_starts, rng), rng)
    L = start.L * np.exp(-start.logdet / (2 * p))[:, None, None]
    Q = QuadraticFeatures(Z)
    S = start.mu.shape[0]
    best_s = np.full(N_BEST, np.inf)
    best_mu = np.zeros((N_BEST, p))
    best_L = np.broadcast_to(np.eye(p), (N_BEST, p, p)).copy()
    # small blocks keep the temporaries in cache; when the features are rebuilt on every
    # call, larger blocks spread that cost over more candidates
    step = max(16, (_BLOCK if Q.cached else 64 * _BLOCK) // n)
    for a in range(0, S, step):
        mu, Lb, d2, s_step = _refine_batch(Q, start.mu[a:a + step], L[a:a + step], loss,
                                           K_STEPS)
        # only candidates that beat the current worst kept scale need their exact M-scale
        worst = best_s.max()
        test = (loss.means(d2, np.full(d2.shape[0], worst), slope=False)[0] < loss.b) \
            if np.isfinite(worst) else np.ones(d2.shape[0], dtype=bool)
        cand = np.flatnonzero(test)
        if cand.size:
            s = m_scale(d2[cand], loss, s_step[cand])
            pool_s = np.concatenate([best_s, s])
            pool_mu = np.concatenate([best_mu, mu[cand]])
            pool_L = np.concatenate([best_L, Lb[cand]])
            order = np.argsort(pool_s, kind="stable")
            keep: list[int] = []
            for i in order:
                if not np.isfinite(pool_s[i]):
                    break
                if any(abs(pool_s[i] - pool_s[j]) <= 1e-12 * pool_s[i]
                       and np.allclose(pool_mu[i], pool_mu[j], rtol=1e-9, atol=1e-12)
                       for j in keep):
                    continue          # the same local minimum reached twice
                keep.append(int(i))
                if len(keep) == N_BEST:
                    break
            kept = np.array(keep, dtype=np.intp)
            best_s = np.full(N_BEST, np.inf)
            best_s[:kept.size] = pool_s[kept]
            best_mu[:kept.size], best_L[:kept.size] = pool_mu[kept], pool_L[kept]
        bar.update(min(step, S - a))
    ok = np.isfinite(best_s)
    return best_mu[ok], np.matmul(best_L[ok], best_L[ok].transpose(0, 2, 1))


def _batch_iterate(Q: QuadraticFeatures, mu: np.ndarray, V: np.ndarray, loss: Loss,
                   tol: float = 1e-9, max_iter: int = MAX_ITER
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IRWLS for a few candidates at once (batched distances and moments, the scale equation
    solved exactly each step), until their estimates change by less than ``tol``; a candidate
    whose step would raise its scale stops there (the exact iteration that follows takes
    over). Returns (mu, V, s)."""
    p = Q.p
    L, _ = _cholesky(V)
    d2 = Q.sq_dists(mu, L)
    s = m_scale(d2, loss)
    act = np.arange(mu.shape[0])
    for _ in range(max_iter):
        if act.size == 0:
            break
        W = loss.weights(d2[act], s[act])
        _, m1, C1 = Q.moments(W)
        L1, bad = _cholesky(C1)
        good = ~bad
        L1[bad] = np.eye(p)
        L1 = L1 * np.exp(-_logdet(L1) / (2 * p))[:, None, None]
        d21 = Q.sq_dists(m1, L1)
        s1 = m_scale(d21, loss, s[act])
        ok = good & (s1 <= s[act] * (1 + 1e-10))
        V1 = np.matmul(L1, L1.transpose(0, 2, 1))
        change = np.maximum(np.abs(m1 - mu[act]).max(axis=1) / (1 + np.abs(mu[act]).max(axis=1)),
                            np.abs(V1 - V[act]).max(axis=(1, 2)) / np.abs(V[act]).max(axis=(1, 2)))
        upd = act[ok]
        mu[upd], V[upd], d2[upd], s[upd] = m1[ok], V1[ok], d21[ok], s1[ok]
        act = act[ok & (change > tol)]
    return mu, V, s


def _sq(Z: np.ndarray, mu: np.ndarray, V: np.ndarray) -> np.ndarray:
    return sq_distances_fast(Z, mu, V)[0]


def s_iterate(Z: np.ndarray, mu: np.ndarray, V: np.ndarray, loss: Loss, *,
              max_iter: int = MAX_ITER, tol: float = TOL
              ) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
    """IRWLS for the S-estimate from (mu, det-1 shape V) to convergence, with the scale
    equation solved exactly at every step (Salibian-Barrera & Yohai 2006, Sect. 2; Maronna
    et al. 2006, Sect. 6.7.2). A step that does not lower the scale is replaced by the best
    convex combination of the old and the new estimate (rrcov's ``gradien``; needed for
    Rocke's non-monotone weights); when none lowers it, the iteration stops. A step that
    leaves the scale unchanged to rounding is taken. Stops when centre
    and shape change by less than ``tol`` (relative). Returns (mu, V, s, iterations,
    converged)."""
    d2 = _sq(Z, mu, V)
    s = float(m_scale(d2[None], loss)[0])
    for it in range(1, max_iter + 1):
        w = loss.weights(d2[None], np.array([s]))[0]
        if w.sum() <= 0:
            return mu, V, s, it, False
        m1 = (w @ Z) / w.sum()
        E = Z - m1
        V1 = (E * w[:, None]).T @ E
        V1 = (V1 + V1.T) / 2
        try:
            V1 = unit_det(V1)
            d21 = _sq(Z, m1, V1)
        except SingularCovarianceError:
            # the points with weight > 0 span a hyperplane: the S-scale implodes there
            raise _Implosion(m1, (E * w[:, None]).T @ E) from None
        s1 = float(m_scale(d21[None], loss, np.array([s]))[0])
        # near the minimum the scale is flat (quadratic in the parameters), so a step that
        # changes it by rounding only is still a step towards the fixed point
        if s1 > s * (1 + 1e-10):
            best: tuple[float, Any] = (s, None)
            for gam in np.arange(1, 11) / 10.0:
                mg = (1 - gam) * mu + gam * m1
                Vg = (1 - gam) * V + gam * V1
                try:
                    Vg = unit_det(Vg)
                    dg = _sq(Z, mg, Vg)
                except SingularCovarianceError:
                    continue
                sg = float(m_scale(dg[None], loss, np.array([s]))[0])
                if sg < best[0]:
                    best = (sg, (mg, Vg, dg))
            if best[1] is None:
                return mu, V, s, it, True      # no direction lowers the scale
            s1 = best[0]
            m1, V1, d21 = best[1]
        change = max(float(np.max(np.abs(m1 - mu))) / (1 + float(np.max(np.abs(mu)))),
                     float(np.max(np.abs(V1 - V))) / float(np.max(np.abs(V))))
        mu, V, d2, s = m1, V1, d21, s1
        if change <= tol:
            return mu, V, s, it, True
    return mu, V, s, max_iter, False


class _Implosion(Exception):
    """The IRWLS reached a singular scatter (an exact fit): its centre and scatter."""

    def __init__(self, center: np.ndarray, scatter: np.ndarray) -> None:
        super().__init__("singular S scatter")
        self.center, self.scatter = center, scatter


# --------------------------------------------------------------------------- rrcov's methods
def _rrcov_bisquare(x: np.ndarray, center: np.ndarray, cov: np.ndarray,
                    maxiter: int = RRCOV_MAXITER, eps: float = RRCOV_EPS
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """rrcov's ``.iter.bic`` step for step (on standardised data): returns (center, det-1
    shape, distances d, scale, iterations)."""
    cc = RRCOV_BISQUARE_C
    b = cc * cc / 12.0
    _n, p = x.shape

    def rho(u: np.ndarray) -> np.ndarray:   # rrcov's rho.bi: strict |u| < cc
        return np.where(np.abs(u) < cc, u ** 2 / 2 - u ** 4 / (2 * cc ** 2)
                        + u ** 6 / (6 * cc ** 4), cc ** 2 / 6)

    def scale_full(u: np.ndarray) -> float:
        s_old = float(np.median(np.abs(u))) / 0.6745
        for _ in range(200):
            s_new = math.sqrt(s_old ** 2 / b * float(np.mean(rho(u / s_old))))
            err = abs(s_new / s_old - 1)
            s_old = s_new
            if err <= 1e-4:
                break
        return s_old

    mah = np.sqrt(sq_distances(x, center, cov))
    s0 = scale_full(mah)
    mahst = mah / s0
    u, it = eps + 1, 0
    while u > eps and it < maxiter:
        it += 1
        w = np.where(np.abs(mahst) < cc, 1 - 2 * mahst ** 2 / cc ** 2 + mahst ** 4 / cc ** 4,
                     0.0)
        tn = (w @ x) / w.sum()
        xc = x - tn
        vn = xc.T @ (xc * w[:, None])
        center = tn
        cov = vn * np.linalg.det(vn) ** (-1.0 / p)
        mah = np.sqrt(sq_distances(x, center, cov))
        s = scale_full(mah)
        mahst = mah / s
        u = abs(s - s0) / s0
        s0 = s
    return center, cov, mah, s0, it


def _rrcov_rocke(x: np.ndarray, mu: np.ndarray, v: np.ndarray, alpha: float,
                 root_tol: float | None, maxit: int = RRCOV_MAXITER, tol: float = RRCOV_EPS
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """rrcov's ``.iter.rocke`` step for step (on standardised data): returns (center, det-1
    shape, squared distances t = d^2 to the shape, sigma, iterations). ``root_tol`` None
    solves the scale equation to 1e-13 (relative); rrcov uses uniroot's default
    .Machine$double.eps^0.25 absolute."""
    n, p = x.shape
    g = rocke_gamma(p, alpha)
    delta = 0.5 * (1 - p / n)

    def fespro(sig: float, dis: np.ndarray) -> float:
        return float(np.mean(rocke_rho(dis / sig, g))) - delta

    def escala(dis: np.ndarray) -> float:
        sig = float(np.median(dis))
        a = sig / 100
        fa = fespro(a, dis)
        while fa < 0:
            a /= 10
            fa = fespro(a, dis)
        b = sig * 10
        fb = fespro(b, dis)
        while fb > 0:
            b *= 10
            fb = fespro(b, dis)
        tol_ = np.finfo(float).eps ** 0.25 if root_tol is None else root_tol * sig
        return zeroin(lambda s: fespro(s, dis), a, b, fa, fb, tol_)

    def disesca(m: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, float, bool, np.ndarray]:
        sv = np.linalg.svd(V, compute_uv=False)
        if sv.min() / sv.max() < 1e-12:
            return np.empty(0), 0.0, True, V
        det = float(np.prod(sv))
        dis = sq_distances(x, m, V) * det ** (1 / p)
        V1 = V * det ** (-1 / p)
        return dis, escala(dis), False, V1

    dis, sig, _, _ = disesca(mu, v)
    vmin, mumin, sigmin, dismin = v, mu, sig, dis
    it, decre = 1, tol + 1
    while decre > tol and it <= maxit:
        w = rocke_weight(dismin / sigmin, g)
        mu1 = (w @ x) / w.sum()
        xc = x - mu1
        va = xc.T @ (xc * w[:, None])
        dis1, sig1, flag, v1 = disesca(mu1, va)
        if flag:
            sig1, v1 = sigmin + 1, va
        decre1 = (sigmin - sig1) / sigmin
        if decre1 <= tol:
            mu2, v2, sig2, dis2 = mumin, vmin, sigmin, dismin
            for i in range(1, 11):
                gam = i / 10
                dr, sr, fr, vr = disesca((1 - gam) * mumin + gam * mu1,
                                         (1 - gam) * vmin + gam * v1)
                if not fr and sr < sig2:
                    mu2, v2, sig2, dis2 = (1 - gam) * mumin + gam * mu1, vr, sr, dr
            decre2 = (sigmin - sig2) / sigmin
            decre = max(decre1, decre2)
            if decre1 >= decre2:
                mumin, vmin, dismin, sigmin = mu1, v1, dis1, sig1
            else:
                mumin, vmin, dismin, sigmin = mu2, v2, dis2, sig2
        else:
            decre = decre1
            mumin, vmin, dismin, sigmin = mu1, v1, dis1, sig1
        it += 1
    return mumin, vmin, dismin, sigmin, it


def _mve_start(xs: np.ndarray, n_starts: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    from .mve import mve
    r = mve(xs, n_starts=n_starts, reweight=False, random_state=rng)
    S0 = np.asarray(r.raw_cov)
    return np.asarray(r.raw_center), S0 / np.linalg.det(S0) ** (1.0 / xs.shape[1])


# --------------------------------------------------------------------------- public
def s_estimator(X: ArrayLike, *, rho: str = "bisquare", algorithm: str = "fast_s",
                breakdown_point: float = 0.5, rejection_probability: float = 0.1,
                n_starts: int = 500, random_state: object = None, progress: bool = False,
                nan_policy: str = "raise") -> SResult:
    """S-estimate of location and scatter, as rrcov ``CovSest``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), n > p + 1
        The data.
    rho : {"bisquare", "rocke"}
        Tukey's bisquare (default) or Rocke's translated biweight (better efficiency for large
        p).
    algorithm : {"fast_s", "mve_start"}
        ``"fast_s"``: random subsets refined and iterated to convergence (rrcov "sfast" for
        the bisquare). ``"mve_start"``: rrcov's methods "bisquare" and "rocke" (start at the
        raw MVE of the median/MAD-standardised data, rrcov's iteration and stopping rules, the
        shape rescaled by the median distance); with the bisquare it uses rrcov's c = 1.56 for
        every p (breakdown point 0.5, but an efficiency that depends on p differently).
    breakdown_point : float in (0, 0.5]
        Of the bisquare S (b = breakdown_point * c^2 / 6) or of Rocke's (delta =
        breakdown_point * (1 - p/n)). rrcov's ``bdp`` (0.5); not used by the bisquare with
        ``"mve_start"``.
    rejection_probability : float
        Rocke's asymptotic rejection probability alpha (rrcov ``arp``, 0.1): gamma =
        min(chi2_p(1 - alpha)/p - 1, 1).
    n_starts : int
        Random (p+1)-subsets (rrcov ``nsamp``, 500), or of the MVE start.
    random_state : None, int or numpy Generator
        Seeds the random starts; the same seed gives the same result.
    progress : bool
        Show a progress bar (needs the ``mahalanobis[progress]`` extra).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    SResult

    Raises
    ------
    ExactFitError
        When the points determining the estimate lie on a hyperplane.
    SingularCovarianceError
        For n <= p + 1.

    See Also
    --------
    mm_estimator, mcd, mve

    Notes
    -----
    Davies (1987), Ann. Statist. 15:1269-1292; Lopuhaa (1989), Ann. Statist. 17:1662-1683
    (efficiency); Salibian-Barrera & Yohai (2006), J. Comput. Graph. Statist. 15:414-427
    (fast-S); Rocke (1996), Ann. Statist. 24:1327-1345; Maronna, Martin & Yohai (2006),
    Robust Statistics, Sect. 6.4-6.10. On rrcov's 14 test data sets the fast-S objective is
    never above rrcov's "sfast" (rrcov stops after 50 steps, before convergence on milk,
    wood_x and bushfire); started at rrcov's estimate the iteration stays at rrcov's fixed
    point; the "mve_start" iterations equal rrcov's given the same MVE start
    (tests/test_robust_fixtures.py). For Rocke's rho the scale equation is solved to 1e-13
    (rrcov uses uniroot's default tolerance 1.2e-4, which moves its scatter by up to 1e-3).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> X[:40] += 10                                  # 20% far outliers
    >>> r = mh.fit(X, method="s_estimator", random_state=0)
    >>> r.converged, round(r.breakdown_point, 2), round(r.efficiency, 3)
    (True, 0.5, 0.722)
    >>> bool(np.abs(r.center).max() < 0.3), bool(r.weights[:40].max() == 0)
    (True, True)
    """
    progress = check_bool(progress, "progress")
    check_choice(rho, "rho", _RHOS)
    check_choice(algorithm, "algorithm", _ALGORITHMS)
    breakdown_point = check_fraction(breakdown_point, "breakdown_point", high=0.5,
                                     high_open=False)
    rejection_probability = check_fraction(rejection_probability, "rejection_probability")
    n_starts = check_int(n_starts, "n_starts", 1)
    data, A = affine_fit_data(X, nan_policy, "s_estimator")
    n, p = A.shape
    rng = check_random_state(random_state)
    med = np.median(A, axis=0)
    spread = 1.4826 * np.median(np.abs(A - med), axis=0)
    if np.any(spread == 0):
        j = int(np.flatnonzero(spread == 0)[0])
        e = np.zeros(p)
        e[j] = 1.0
        on = A[:, j] == med[j]
        from ..errors import ExactFitError
        raise ExactFitError(
            f"X: {int(on.sum())} of {n} observations (more than half) have the value "
            f"{med[j]:.6g} in column {j}, so they lie on the hyperplane x[{j}] = {med[j]:.6g} "
            "and the S-estimate is singular there. Drop or jitter that column (it carries no "
            "information for a distance), or use method='mrcd'.",
            hyperplane=e, offset=float(med[j]), on_hyperplane=on, rank=p - 1)
    Z = (A - med) / spread
    g = float(np.exp(np.mean(np.log(spread))))          # det(D)^(1/p)
    bar = progress_bar(progress, total=n_starts if algorithm == "fast_s" else None,
                       desc=f"S ({rho})", unit="start")
    try:
        with single_threaded_blas():
            if algorithm == "fast_s":
                loss = Loss.s_loss(rho, p, n, breakdown_point, rejection_probability)
                try:
                    mus, Vs = _fast_s(Z, loss, n_starts, rng, bar)
                except SingularSubset as exc:
                    raise hyperplane_error(A, exc.rows, n // 2, "found by fast-S") from None
                if mus.shape[0] == 0:
                    raise hyperplane_error(A, np.arange(n), n // 2, "every fast-S start")
                # the kept candidates together (batched), then the winner alone, exactly
                mus, Vs, ss = _batch_iterate(QuadraticFeatures(Z), mus, Vs, loss)
                k = int(np.argmin(ss))
                try:
                    mu, V, s, n_iter, converged = s_iterate(Z, mus[k], Vs[k], loss)
                except _Implosion as imp:
                    c_ = med + spread * imp.center
                    raise exact_fit_from_scatter(
                        A, c_, imp.scatter * np.outer(spread, spread), "S-estimate",
                        "drop the redundant variable, or use method='mrcd'.") from None
                d2 = _sq(Z, mu, V)
                w = loss.weights(d2[None], np.array([s]))[0] / loss.wmax
                shape_z, scale_z = V, s
                # the bisquare S is consistent at the normal by its b; Rocke's sigma is not
                # (delta depends on n): rescale by the median distance, as rrcov
                cov_z = s * s * V if rho == "bisquare" else \
                    float(np.median(d2)) / stats.chi2.ppf(0.5, p) * V
                tc, b, eff = loss.c, loss.b, loss.efficiency(p)
            else:
                t0, S0 = _mve_start(Z, n_starts, rng)
                if rho == "bisquare":
                    mu, V, d, s, n_iter = _rrcov_bisquare(Z, t0, S0)
                    cc = RRCOV_BISQUARE_C
                    w = np.where(d / s < cc, (1 - (d / s / cc) ** 2) ** 2, 0.0)
                    tc, b = cc, cc * cc / 12.0
                    # at the normal the scale tends to s_inf, E rho_cc(||Z|| / s_inf) = b:
                    # a bisquare with constant cc s_inf on the distances themselves
                    eff = bisquare_location_efficiency(
                        p, cc * scale_at_normal(lambda u: bisquare_rho(u, cc), b, p))
                    scale_z = s
                    dd = d * d
                else:
                    mu, V, dd, sig, n_iter = _rrcov_rocke(Z, t0, S0, rejection_probability,
                                                          root_tol=1e-13)
                    gam = rocke_gamma(p, rejection_probability)
                    w = rocke_weight(dd / sig, gam) * (4.0 * gam / 3.0)
                    tc, b = gam, 0.5 * (1 - p / n)
                    eff = Loss("rocke", gam, b).efficiency(p)
                    scale_z = math.sqrt(sig)
                converged = n_iter < RRCOV_MAXITER + (rho == "rocke")
                cov_z = float(np.median(dd)) / stats.chi2.ppf(0.5, p) * V
                shape_z = V
    finally:
        bar.close()
    center = med + spread * mu
    cov = cov_z * np.outer(spread, spread)
    cov = (cov + cov.T) / 2
    shape = shape_z * np.outer(spread, spread) / (g * g)
    try:
        L = _linalg.cholesky(cov, "S-estimate scatter")
    except SingularCovarianceError:
        raise exact_fit_from_scatter(
            A, center, cov, "S-estimate",
            "drop the redundant variable, or use method='mrcd'.") from None
    return SResult._build(
        center, cov=cov, L=L, method="s_estimator", n_samples=n, data=data,
        objective=float(scale_z * g), shape=shape, weights=np.asarray(w, dtype=float),
        rho=rho, algorithm=algorithm, tuning_constant=float(tc), b=float(b),
        breakdown_point=float(breakdown_point if not (algorithm == "mve_start"
                                                       and rho == "bisquare") else 0.5),
        efficiency=float(eff), n_iterations=int(n_iter), converged=bool(converged),
        n_starts=int(n_starts))
