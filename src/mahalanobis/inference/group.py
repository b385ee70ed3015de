"""Mahalanobis' (1936) generalised distance between two groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._deprecation import renamed_parameters
from .._linalg import mean_and_cov
from .._validation import as_data
from ..metric import Metric

__all__ = ["GroupDistance", "group_distance"]


@dataclass(frozen=True)
class GroupDistance:
    """Squared generalised distance between two group means under their pooled covariance.

    Attributes
    ----------
    d2 : float
        Mahalanobis' D^2 = (xbar_1 - xbar_2)^T S_p^-1 (xbar_1 - xbar_2), the plug-in estimate
        (biased upwards: E[d2] = (n1+n2-2)/(n1+n2-p-3) (Delta^2 + p (1/n1 + 1/n2))).
    d2_unbiased : float
        d2 (n1 + n2 - p - 3)/(n1 + n2 - 2) - p (1/n1 + 1/n2), unbiased for the population
        Delta^2 under normality (can be negative when the groups are close); NaN when
        n1 + n2 - p - 3 <= 0.
    statistic : float
        The one asked for: ``d2_unbiased`` if ``unbiased=True`` else ``d2``.
    pvalue : float
        The pooled two-sample Hotelling test of equal means, T^2 = n1 n2/(n1+n2) d2.
    df : tuple
        (p, n1 + n2 - p - 1), the F degrees of freedom of that test.
    """

    statistic: float
    d2: float
    d2_unbiased: float
    pvalue: float
    df: tuple[float, float]
    n1: int
    n2: int
    p: int
    unbiased: bool

    @property
    def distance(self) -> float:
        """D = sqrt(d2)."""
        return float(np.sqrt(self.d2))

    def to_frame(self) -> Any:
        import pandas as pd
        return pd.DataFrame([{"d2": self.d2, "d2_unbiased": self.d2_unbiased,
                              "pvalue": self.pvalue, "n1": self.n1, "n2": self.n2,
                              "p": self.p}])


@renamed_parameters(A="X", B="Y")
def group_distance(X: Any, Y: Any, *, unbiased: bool = False,
                   nan_policy: str = "raise") -> GroupDistance:
    """Mahalanobis' generalised distance D^2 between the means of samples X and Y.

    Uses the pooled covariance S_p = ((n1 - 1) S_1 + (n2 - 1) S_2) / (n1 + n2 - 2) (Mahalanobis
    1936). ``unbiased=True`` makes ``statistic`` the bias-corrected
    D^2 (n1 + n2 - p - 3)/(n1 + n2 - 2) - p (1/n1 + 1/n2) (e.g. Anderson 2003, Sec. 6.6);
    both are always available as ``d2`` and ``d2_unbiased``.
    """
    da = as_data(X, "X", nan_policy=nan_policy, min_samples=2)
    cols = list(da.columns) if da.columns is not None and hasattr(Y, "columns") and \
        set(map(str, Y.columns)) == set(map(str, da.columns)) else None
    db = as_data(Y, "Y", nan_policy=nan_policy, min_samples=2, feature_names=cols)
    p = da.values.shape[1]
    if db.values.shape[1] != p:
        raise ValueError(f"X has {p} columns but Y has {db.values.shape[1]}; both groups must "
                         "have the same features.")
    n1, n2 = da.values.shape[0], db.values.shape[0]
    if n1 + n2 - 2 < p:
        raise ValueError(f"X and Y have n1 + n2 - 2 = {n1 + n2 - 2} degrees of freedom for "
                         f"p = {p} features: the pooled covariance is singular. Select fewer "
                         "features or use a regularised scatter with mahalanobis.distance.")
    m1, S1 = mean_and_cov(da.values)
    m2, S2 = mean_and_cov(db.values)
    Sp = ((n1 - 1) * S1 + (n2 - 1) * S2) / (n1 + n2 - 2)
    d2 = float(Metric(m1, Sp).distance(m2.reshape(1, -1), squared=True)[0])
    k = n1 + n2 - p - 3
    d2u = d2 * k / (n1 + n2 - 2) - p * (1.0 / n1 + 1.0 / n2) if k > 0 else float("nan")
    dfd = n1 + n2 - p - 1
    if dfd > 0:
        T2 = n1 * n2 / (n1 + n2) * d2
        pv = float(stats.f.sf(T2 * dfd / (p * (n1 + n2 - 2.0)), p, dfd))
    else:
        pv = float("nan")
    return GroupDistance(statistic=d2u if unbiased else d2, d2=d2, d2_unbiased=float(d2u),
                         pvalue=pv, df=(float(p), float(dfd)), n1=n1, n2=n2, p=p,
                         unbiased=bool(unbiased))
