"""Reference distributions of T^2 statistics and of the terms of their MYT decomposition.

Every chart point is judged by one of three distributions (all exact under normality except
where noted):

``"beta"`` — in-sample individual observations (Phase I): the point is one of the m rows that
gave xbar and S, so (Tracy, Young & Mason 1992, eq. 5; Gnanadesikan & Kettenring 1972)

    T^2 ~ ((m - 1)^2 / m) Beta(p/2, (m - p - 1)/2).

``"f"`` — T^2 = c * H where H is a Hotelling T^2 whose scatter has ``nu`` degrees of freedom
and is independent of the point, H ~ p nu / (nu - p + 1) F(p, nu - p + 1):

* a new individual observation (Phase II): c = (m + 1)/m, nu = m - 1, giving
  UCL = p (m + 1)(m - 1) / (m (m - p)) F_{1-alpha}(p, m - p) (Tracy, Young & Mason 1992, eq. 6);
* subgroup means with the pooled within-subgroup scatter, nu = m (k - 1): c = (m - 1)/m in
  Phase I and (m + 1)/m in Phase II, giving UCL = p (m -/+ 1)(k - 1) / (mk - m - p + 1)
  F_{1-alpha}(p, mk - m - p + 1) (Alt 1985; Montgomery, *Introduction to Statistical Quality
  Control*, ch. 11, eqs. 11.19 and 11.20 in the 7th edition).

``"chi2"`` — centre and covariance known: T^2 ~ chi2(p).

MYT terms (Mason, Tracy & Young 1995, JQT 27, 99-108; 1997, JQT 29, 396-406; Mason & Young
2002, *Multivariate Statistical Process Control with Industrial Applications*, ch. 7-8). A
term T^2_{j.1..q} conditions variable j on q others (q = 0: the unconditional term). Its
critical value at level alpha is

* ``"beta"`` (Phase I, MTY 1997): ((m - 1)^2 / m) Beta_{1-alpha}(1/2, (m - q - 2)/2);
* ``"f"``: c nu / (nu - q) F_{1-alpha}(1, nu - q). For a new individual observation this is
  MTY 1995's ((m + 1)/m) F(1, m - 1) for q = 0 and (m + 1)(m - 1) / (m (m - q - 1))
  F(1, m - q - 1) for q > 0; subgroup charts use the same form with their c and nu;
* ``"chi2"``: chi2_{1-alpha}(1) (exact: a conditional normal residual, standardised).

For the Beta and F conditional terms these are the published approximations (they treat the
regression coefficients of the conditional mean as known); the unconditional ones are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["Reference"]


@dataclass(frozen=True)
class Reference:
    """The distribution a T^2 (and the terms of its decomposition) is judged by.

    ``kind`` is "beta" (in-sample, ``m`` points in the estimate), "f" (``T^2 = c * Hotelling
    T^2`` with ``nu`` degrees of freedom of the scatter) or "chi2" (known parameters).
    """

    kind: str
    m: float = 0.0
    c: float = 1.0
    nu: float = 0.0
    #: "simulated": the Monte Carlo law (a SimulatedReference), its level ("individual" per
    #: point or "simultaneous" over Phase I) and the analytic reference the MYT terms use.
    sim: Any = field(default=None, compare=False)
    level: str = "individual"
    base: Any = field(default=None, compare=False)

    @classmethod
    def simulated(cls, sim: Any, level: str, base: Reference) -> Reference:
        return cls("simulated", m=base.m, c=base.c, nu=base.nu, sim=sim, level=level,
                   base=base)

    @classmethod
    def beta(cls, m: int) -> Reference:
        return cls("beta", m=float(m))

    @classmethod
    def f(cls, c: float, nu: float) -> Reference:
        return cls("f", c=float(c), nu=float(nu))

    @classmethod
    def chi2(cls) -> Reference:
        return cls("chi2")

    # ------------------------------------------------------------------ whole statistic
    def ucl(self, p: int, alpha: float) -> float:
        """Upper control limit of T^2 in p variables at false-alarm probability alpha."""
        if self.kind == "simulated":
            return float(self.sim.cutoff(alpha, self.level))
        if self.kind == "beta":
            m = self.m
            return float((m - 1) ** 2 / m * stats.beta.isf(alpha, p / 2, (m - p - 1) / 2))
        if self.kind == "f":
            nu = self.nu
            return float(self.c * p * nu / (nu - p + 1) * stats.f.isf(alpha, p, nu - p + 1))
        return float(stats.chi2.isf(alpha, p))

    def sf(self, t2: Any, p: int) -> np.ndarray:
        """Upper-tail probabilities P(T^2 >= t2) under the in-control model."""
        t2 = np.asarray(t2, dtype=float)
        if self.kind == "simulated":
            return self.sim.sf(t2)
        if self.kind == "beta":
            m = self.m
            u = np.clip(t2 * m / (m - 1) ** 2, 0.0, 1.0)
            return stats.beta.sf(u, p / 2, (m - p - 1) / 2)
        if self.kind == "f":
            nu = self.nu
            return stats.f.sf(t2 / (self.c * p * nu / (nu - p + 1)), p, nu - p + 1)
        return stats.chi2.sf(t2, p)

    # ------------------------------------------------------------------ MYT terms
    def term_ucl(self, q: Any, alpha: float) -> np.ndarray:
        """Critical values of MYT terms conditioning on ``q`` variables (array-like of ints)."""
        if self.kind == "simulated":  # MYT terms: the analytic (Cerioli) approximation
            return self.base.term_ucl(q, alpha)
        q = np.asarray(q, dtype=float)
        if self.kind == "beta":
            m = self.m
            return (m - 1) ** 2 / m * stats.beta.isf(alpha, 0.5, (m - q - 2) / 2)
        if self.kind == "f":
            nu = self.nu
            return self.c * nu / (nu - q) * stats.f.isf(alpha, 1, nu - q)
        return np.full(q.shape, stats.chi2.isf(alpha, 1))

    def term_sf(self, value: Any, q: Any) -> np.ndarray:
        """Upper-tail probabilities of MYT terms with ``q`` conditioning variables."""
        if self.kind == "simulated":
            return self.base.term_sf(value, q)
        value = np.asarray(value, dtype=float)
        q = np.asarray(q, dtype=float)
        if self.kind == "beta":
            m = self.m
            u = np.clip(value * m / (m - 1) ** 2, 0.0, 1.0)
            return stats.beta.sf(u, 0.5, (m - q - 2) / 2)
        if self.kind == "f":
            nu = self.nu
            return stats.f.sf(value / (self.c * nu / (nu - q)), 1, nu - q)
        return stats.chi2.sf(value, 1)

    def describe(self) -> str:
        if self.kind == "simulated":
            return (f"Monte Carlo limits ({self.sim.n_reps} simulated Phase I samples, "
                    f"{self.level})")
        if self.kind == "beta":
            return f"((m-1)^2/m) Beta(p/2, (m-p-1)/2), m={self.m:g}"
        if self.kind == "f":
            return f"{self.c:.6g} * Hotelling T^2 with nu={self.nu:g}"
        return "chi2(p)"
