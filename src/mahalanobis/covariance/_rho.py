"""Loss functions of the S- and MM-estimators, their tuning constants and scale equations.

* Tukey's bisquare (biweight) rho_c(u) = u^2/2 - u^4/(2c^2) + u^6/(6c^4) for |u| <= c, c^2/6
  beyond, applied to Mahalanobis distances d (not squared): :func:`bisquare_rho`,
  :func:`bisquare_weight` (psi(u)/u up to a constant), the S constants for a breakdown point
  (:func:`s_constants`, rrcov ``.csolve.bw.S``), the MM constant for a Gaussian efficiency
  (:func:`mm_constant`, rrcov ``.csolve.bw.MM``) and the location efficiency
  (:func:`bisquare_location_efficiency`, rrcov's ``loceff.bw``);
* Rocke's (1996) translated biweight on t = d^2 / sigma for det-1 shapes: :func:`rocke_gamma`,
  :func:`rocke_rho`, :func:`rocke_weight` (rrcov ``rho.rk2``, ``w.rk2``);
* the M-scale equation mean rho(d / s) = b solved for every row of a matrix of distances
  (:func:`m_scale`);
* :func:`zeroin`, R's Brent root finder ``R_zeroin2`` step for step (shared with MRCD: rrcov's
  results depend on uniroot's default tolerance).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy import special, stats

__all__ = ["Loss", "bisquare_location_efficiency", "bisquare_rho", "bisquare_weight",
           "location_efficiency", "m_scale", "median_distance", "mm_constant", "rocke_gamma",
           "rocke_rho", "rocke_weight", "s_constants", "scale_at_normal", "shape_efficiency",
           "zeroin"]


# --------------------------------------------------------------------------- bisquare
def bisquare_rho(u: np.ndarray, c: float) -> np.ndarray:
    """Tukey's rho_c(u) = (c^2/6) (1 - (1 - min((u/c)^2, 1))^3)."""
    t = 1.0 - np.minimum((u / c) ** 2, 1.0)
    return c * c / 6.0 * (1.0 - t * t * t)


def bisquare_weight(u: np.ndarray, c: float) -> np.ndarray:
    """psi_c(u) / u = (1 - (u/c)^2)^2 for |u| <= c, else 0 (rrcov's ``scaledpsi`` without
    its constant factor c^2/6, which cancels in every weighted estimate)."""
    t = 1.0 - np.minimum((u / c) ** 2, 1.0)
    return t * t


def _chi_int(p: int, a: float, c: float) -> float:
    """E[D^a 1{D <= c}] for D ~ chi_p (rrcov's ``chi.int``)."""
    return float(math.exp(special.gammaln((p + a) / 2) - special.gammaln(p / 2))
                 * 2 ** (a / 2) * stats.chi2.cdf(c * c, p + a))


@functools.lru_cache(maxsize=256)
def s_constants(breakdown_point: float, p: int) -> tuple[float, float]:
    """(c, b) of the bisquare S-estimator with the given breakdown point in dimension p:
    b = E[rho_c(||Z||)] = breakdown_point * c^2/6 (rrcov ``.csolve.bw.S``, same fixed
    point, tolerance 1e-8)."""
    def tbsb(c: float) -> float:
        def ksi(s: int) -> float:
            return float(2 ** s * math.exp(special.gammaln(s + p / 2) - special.gammaln(p / 2))
                         * special.gammainc(s + p / 2, c * c / 2))
        return (ksi(1) * 3 / c - ksi(2) * 3 / c ** 3 + ksi(3) / c ** 5
                + c * stats.chi2.sf(c * c, p))

    c = math.sqrt(stats.chi2.ppf(1 - breakdown_point, p))
    for _ in range(1000):
        new = tbsb(c) / breakdown_point
        if abs(new - c) <= 1e-8:
            c = new
            break
        c = new
    return c, c / 6.0 * tbsb(c)


def bisquare_location_efficiency(p: int, c: float) -> float:
    """Asymptotic Gaussian efficiency of the location of a bisquare M-, S- or MM-estimate with
    constant c applied to d / sigma (Lopuhaa 1989; rrcov's ``loceff.bw``)."""
    ci = _chi_int
    alpha = (ci(p, 2, c) - 4 * ci(p, 4, c) / c ** 2 + 6 * ci(p, 6, c) / c ** 4
             - 4 * ci(p, 8, c) / c ** 6 + ci(p, 10, c) / c ** 8) / p
    b1 = ci(p, 0, c) - 2 * ci(p, 2, c) / c ** 2 + ci(p, 4, c) / c ** 4
    b2 = ci(p, 0, c) - 6 * ci(p, 2, c) / c ** 2 + 5 * ci(p, 4, c) / c ** 4
    beta = (1 - 1 / p) * b1 + b2 / p
    return beta * beta / alpha


def _shape_sigma(p: int, c: float) -> float:
    ci = _chi_int
    g1 = ci(p, 2, c) - 6 * ci(p, 4, c) / c ** 2 + 5 * ci(p, 6, c) / c ** 4
    g2 = ci(p, 2, c) - 2 * ci(p, 4, c) / c ** 2 + ci(p, 6, c) / c ** 4
    gamma = (g1 + (p + 1) * g2) / (p + 2)
    s0 = (ci(p, 4, c) - 4 * ci(p, 6, c) / c ** 2 + 6 * ci(p, 8, c) / c ** 4
          - 4 * ci(p, 10, c) / c ** 6 + ci(p, 12, c) / c ** 8)
    return s0 / gamma ** 2 * p / (p + 2)


def shape_efficiency(p: int, c: float) -> float:
    """Asymptotic Gaussian efficiency of the shape of a bisquare M-estimate (1 / sigma_1 of
    rrcov's ``sigma1.bw``)."""
    return 1.0 / _shape_sigma(p, c)


@functools.lru_cache(maxsize=256)
def mm_constant(p: int, efficiency: float = 0.95, shape: bool = True) -> float:
    """Bisquare constant c1 of the MM-estimator whose shape (``shape=True``, rrcov's default
    ``eff.shape = TRUE``) or location has the given Gaussian efficiency (rrcov
    ``.csolve.bw.MM``: the same fixed point from c = -0.4024 + 2.2539 sqrt(p), tolerance
    1e-8)."""
    c = -0.4024 + 2.2539 * math.sqrt(p)
    for _ in range(1000):
        new = (c * efficiency * _shape_sigma(p, c) if shape
               else c * efficiency / bisquare_location_efficiency(p, c))
        if abs(new - c) <= 1e-8:
            return new
        c = new
    return c  # pragma: no cover


# --------------------------------------------------------------------------- Rocke
def rocke_gamma(p: int, rejection_probability: float) -> float:
    """gamma = min(chi2_p(1 - alpha) / p - 1, 1): half-width of Rocke's rejection interval
    around t = 1 (alpha rrcov's ``arp``)."""
    return min(stats.chi2.ppf(1 - rejection_probability, p) / p - 1.0, 1.0)


def rocke_rho(t: np.ndarray, g: float) -> np.ndarray:
    """Rocke's translated biweight rho on t = d^2 / sigma (rrcov ``rho.rk2``)."""
    x = (t - 1.0) / g
    mid = (x / 4.0) * (3.0 - x * x) + 0.5
    return np.where(t <= 1 - g, 0.0, np.where(t <= 1 + g, mid, 1.0))


def rocke_weight(t: np.ndarray, g: float) -> np.ndarray:
    """Its weight rho'(t) = (3 / (4 gamma)) (1 - ((t - 1)/gamma)^2) on (1 - gamma, 1 + gamma]
    (rrcov ``w.rk2``)."""
    x = (t - 1.0) / g
    return np.where((t > 1 - g) & (t <= 1 + g), 3.0 / (4.0 * g) * (1.0 - x * x), 0.0)


# --------------------------------------------------------------------------- M-scale
#: Elements of one block of the fused row reductions (fits in the L2 cache).
_BLOCK = 1 << 16


class Loss:
    """A bounded rho on u = d / s (distances, not squared) with its weight psi(u)/u and the
    constant b of the scale equation mean rho(d / s) = b.

    ``kind="bisquare"``: Tukey's rho_c; ``kind="rocke"``: Rocke's translated biweight on
    t = u^2 (so s^2 is Rocke's sigma), with gamma in ``c``."""

    def __init__(self, kind: str, c: float, b: float) -> None:
        self.kind, self.c, self.b = kind, float(c), float(b)
        self.wmax = 1.0 if kind == "bisquare" else 3.0 / (4.0 * c)

    @classmethod
    def s_loss(cls, kind: str, p: int, n: int, breakdown_point: float,
               rejection_probability: float = 0.1) -> Loss:
        """The loss of the S-estimator with that breakdown point (Rocke: delta =
        breakdown_point (1 - p/n), gamma from the rejection probability)."""
        if kind == "bisquare":
            return cls(kind, *s_constants(breakdown_point, p))
        return cls(kind, rocke_gamma(p, rejection_probability),
                   breakdown_point * (1.0 - p / n))

    def rho(self, u: np.ndarray) -> np.ndarray:
        if self.kind == "bisquare":
            return bisquare_rho(u, self.c)
        return rocke_rho(u * u, self.c)

    def weight(self, u: np.ndarray) -> np.ndarray:
        if self.kind == "bisquare":
            return bisquare_weight(u, self.c)
        return rocke_weight(u * u, self.c)

    def means(self, d2: np.ndarray, s: np.ndarray, slope: bool = True
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """Row means of rho(u) and of u psi(u), u = d / s, from the squared distances d2
        (S, n) and the scales s (S,), fused block by block (no square root is taken)."""
        S, n = d2.shape
        m_rho = np.empty(S)
        m_up = np.empty(S) if slope else None
        step = max(1, _BLOCK // max(n, 1))
        for a in range(0, S, step):
            # a zero scale (an exact fit) gives u = inf, rho at its supremum, weight 0
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                m_rho[a:a + step], up = self._block_means(d2[a:a + step], s[a:a + step],
                                                          slope)
            if m_up is not None:
                m_up[a:a + step] = up
        return m_rho, m_up

    def _block_means(self, d2: np.ndarray, s: np.ndarray, slope: bool
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        n = d2.shape[1]
        if self.kind == "bisquare":
            t = d2 / ((s * self.c) ** 2)[:, None]                # (u / c)^2
            t[np.isnan(t)] = 0.0                                # 0 / 0: a point at the centre
            np.minimum(t, 1.0, out=t)
            w = 1.0 - t
            w2 = w * w                                          # bisquare weight
            m_rho = self.c * self.c / 6.0 * (1.0 - np.einsum("ij,ij->i", w2, w) / n)
            # u psi(u) = c^2 t w^2
            return m_rho, (self.c * self.c * np.einsum("ij,ij->i", t, w2) / n
                           if slope else None)
        t = d2 / (s * s)[:, None]
        t[np.isnan(t)] = 0.0
        return (rocke_rho(t, self.c).mean(axis=1),
                2.0 * (t * rocke_weight(t, self.c)).mean(axis=1) if slope else None)

    def weights(self, d2: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Weights psi(u)/u of every entry, u^2 = d2 / s^2 (s per row; a zero scale, an
        exact fit, gives weight 0 off the fit)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            t = d2 / (s * s)[:, None]
        t[np.isnan(t)] = 0.0
        if self.kind == "bisquare":
            t *= 1.0 / (self.c * self.c)
            np.minimum(t, 1.0, out=t)
            np.subtract(1.0, t, out=t)
            return np.multiply(t, t, out=t)
        return rocke_weight(t, self.c)

    def efficiency(self, p: int) -> float:
        """Asymptotic Gaussian efficiency of the S (or M) location with this loss (for
        Rocke's: at the scale it converges to at the normal)."""
        if self.kind == "bisquare":
            return bisquare_location_efficiency(p, self.c)
        g = self.c
        sig = scale_at_normal(lambda t: rocke_rho(t, g), self.b, p, squared=True)

        def psi(d: np.ndarray) -> np.ndarray:
            return d * rocke_weight(d * d / sig, g)

        def dpsi(d: np.ndarray) -> np.ndarray:
            t = d * d / sig
            x = (t - 1.0) / g
            inside = (t > 1 - g) & (t <= 1 + g)
            dw = np.where(inside, 3.0 / (4.0 * g) * (-2.0 * x / g) * (2.0 * d / sig), 0.0)
            return rocke_weight(t, g) + d * dw
        return location_efficiency(psi, dpsi, p)


def median_distance(d2: np.ndarray) -> np.ndarray:
    """Row medians of the distances sqrt(d2) (R's median: mean of the two middle values for an
    even length), from one selection on d2."""
    n = d2.shape[1]
    from .._scale import select_rows
    if n % 2:
        return np.sqrt(select_rows(d2, (n // 2,))[0])
    lo, hi = select_rows(d2, (n // 2 - 1, n // 2))
    return (np.sqrt(lo) + np.sqrt(hi)) / 2.0


def m_scale(d2: np.ndarray, loss: Loss, s0: np.ndarray | None = None, *,
            rtol: float = 1e-13, max_iter: int = 200) -> np.ndarray:
    """For every row of the squared distances d2 (S, n) the scale s > 0 of the distances
    d = sqrt(d2) solving mean rho(d / s) = b (``loss``: rho non-decreasing in |u|, bounded,
    b below its supremum).

    Newton's method on log s (from a warm start ``s0`` it takes two or three steps), inside a
    bracket that always holds the root; a step leaving the bracket is replaced by bisection.
    Converges to ``rtol`` relative whatever the start (default start median(d) / 0.6745)."""
    d2 = np.atleast_2d(d2)
    S = d2.shape[0]
    if s0 is None:
        s0 = median_distance(d2) / 0.6745
    s0 = np.where(np.asarray(s0, dtype=float) > 0, s0,
                  np.sqrt(np.max(d2, axis=1)) + 1e-300)
    t = np.log(np.broadcast_to(s0, (S,)).astype(float))
    lo = np.full(S, -np.inf)
    hi = np.full(S, np.inf)
    act = np.arange(S)
    for _ in range(max_iter):
        if act.size == 0:
            break
        m_rho, m_up = loss.means(d2[act], np.exp(t[act]))
        assert m_up is not None
        g = m_rho - loss.b
        pos = g > 0                               # the root lies at a larger s
        lo[act] = np.where(pos, t[act], lo[act])
        hi[act] = np.where(pos, hi[act], t[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            new = t[act] + g / m_up               # Newton: d g / d log s = -mean u psi(u)
        L, H = lo[act], hi[act]
        out = ~np.isfinite(new) | (new <= L) | (new >= H)
        mid = np.where(np.isfinite(L) & np.isfinite(H), 0.5 * (L + H),
                       np.where(np.isfinite(L), L + 2.0, H - 2.0))
        new = np.where(g == 0, t[act], np.where(out, mid, new))   # g == 0: a root
        step = np.abs(new - t[act])
        t[act] = new
        done = (step <= rtol) | (np.isfinite(L) & np.isfinite(H) & (H - L <= rtol))
        act = act[~done]
    return np.exp(t)


def scale_at_normal(rho: Callable[[np.ndarray], np.ndarray], b: float, p: int, *,
                    squared: bool = False) -> float:
    """s with E rho(D / s) = b for D ~ chi_p (or E rho(D^2 / s) = b with ``squared``)."""
    from scipy import optimize
    x, w = _chi_nodes(p)
    arg = x * x if squared else x
    return float(optimize.brentq(lambda sc: float(w @ rho(arg / sc)) - b, 1e-6 * p,
                                 1e6 * p, xtol=1e-14, rtol=1e-13))


@functools.lru_cache(maxsize=64)
def _chi_nodes(p: int, panels: int = 400, order: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a composite Gauss-Legendre rule (``panels`` x ``order`` nodes)
    for E f(D), D ~ chi_p, on [0, q] with q the 1 - 1e-15 quantile (accurate to about 1e-12
    for the piecewise-smooth losses here)."""
    q = float(np.sqrt(stats.chi2.isf(1e-15, p)))
    z, wz = np.polynomial.legendre.leggauss(order)
    h = q / panels
    left = np.arange(panels)[:, None] * h
    x = (left + 0.5 * h * (z + 1.0)).ravel()
    w = (np.broadcast_to(0.5 * h * wz, (panels, order))).ravel() * stats.chi(p).pdf(x)
    return x, w


# --------------------------------------------------------------------------- zeroin
def zeroin(f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float,
           tol: float, maxit: int = 1000) -> float:
    """R's ``R_zeroin2`` (Brent's root finder), step for step, so that ``uniroot`` results
    agree with R to rounding."""
    eps = np.finfo(float).eps
    a, b, c = ax, bx, ax
    fc = fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b  # pragma: no cover - not reached within maxit for a monotone function


def location_efficiency(psi: Callable[[np.ndarray], np.ndarray],
                        dpsi: Callable[[np.ndarray], np.ndarray], p: int) -> float:
    """Asymptotic Gaussian efficiency beta^2 / alpha of an affine-equivariant M-type location
    with psi applied to the distance D ~ chi_p at the estimator's limit (Lopuhaa 1989,
    Maronna, Martin & Yohai 2006 eq. 6.52): alpha = E psi(D)^2 / p,
    beta = E[(1 - 1/p) psi(D)/D + psi'(D)/p]."""
    x, w = _chi_nodes(p)
    alpha = float(w @ psi(x) ** 2) / p
    beta = float(w @ ((1 - 1 / p) * psi(x) / x + dpsi(x) / p))
    return beta * beta / alpha
