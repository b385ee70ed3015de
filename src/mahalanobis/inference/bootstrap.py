"""Bootstrap calibration of a D^2 cutoff (Phaladiganon et al. 2011)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_fraction, check_random_state

__all__ = ["BootstrapCutoff", "ConfidenceInterval", "bootstrap_cutoff"]


class ConfidenceInterval(NamedTuple):
    low: float
    high: float


@dataclass(frozen=True, repr=False, eq=False)
class BootstrapCutoff:
    """Bootstrap estimate of the (1 - alpha) quantile of in-control D^2.

    Attributes
    ----------
    cutoff : float
        Mean of the bootstrap (1 - alpha) percentiles.
    confidence_interval : ConfidenceInterval
        Percentile interval (at ``level``) of the bootstrap percentiles.
    n_boot, alpha, level : as passed
    standard_error : float
        Standard deviation of the bootstrap percentiles.
    sample_quantile : float
        The (1 - alpha) quantile of the data themselves.
    percentiles : ndarray (n_boot,)
        The bootstrap percentiles.
    """

    cutoff: float
    confidence_interval: ConfidenceInterval
    n_boot: int
    alpha: float
    level: float
    standard_error: float
    sample_quantile: float
    n: int
    percentiles: np.ndarray

    def __repr__(self) -> str:
        lo, hi = self.confidence_interval
        return (f"BootstrapCutoff(cutoff={self.cutoff:.6g}, confidence_interval=({lo:.6g}, "
                f"{hi:.6g}), level={self.level:g}, alpha={self.alpha:g}, n_boot={self.n_boot}, "
                f"n={self.n})")

    def to_frame(self) -> Any:
        import pandas as pd
        lo, hi = self.confidence_interval
        return pd.DataFrame([{"cutoff": self.cutoff, "low": lo, "high": hi,
                              "standard_error": self.standard_error, "alpha": self.alpha,
                              "level": self.level, "n_boot": self.n_boot, "n": self.n}])


def _bootstrap_iv(d2: Any, alpha: Any, n_boot: Any, level: Any) -> tuple[np.ndarray, float,
                                                                            int, float]:
    x = np.asarray(d2.to_numpy() if hasattr(d2, "to_numpy") else d2, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"d2 must be a 1-D array of squared distances; got shape {x.shape}.")
    if x.size < 2:
        raise ValueError("d2 needs at least 2 values to bootstrap.")
    if not np.isfinite(x).all():
        raise ValueError("d2 has NaN or infinite values; drop them first.")
    if (x < 0).any():
        raise ValueError("d2 has negative values; pass squared distances (squared=True).")
    alpha = check_fraction(alpha, "alpha")
    level = check_fraction(level, "level")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2; got {n_boot!r}.")
    return x, alpha, int(n_boot), level


def bootstrap_cutoff(d2: ArrayLike, alpha: float = 0.025, *, n_boot: int = 1000,
                     level: float = 0.95,
                     random_state: Any = None) -> BootstrapCutoff:
    """Distribution-free cutoff for D^2: bootstrap the (1 - alpha) percentile.

    Following Phaladiganon et al. (2011), ``n_boot`` resamples of size n are drawn with
    replacement from the in-control squared distances ``d2``; the (1 - alpha) percentile of each
    (linear interpolation, numpy's default) is taken and the cutoff is their mean. The
    percentile interval of the bootstrap percentiles gives a ``level`` confidence interval.
    Useful when D^2 is not chi-squared / Beta / F distributed (non-normal data).
    """
    x, alpha, n_boot, level = _bootstrap_iv(d2, alpha, n_boot, level)
    rng = check_random_state(random_state)
    n = x.size
    q = 1.0 - alpha
    out = np.empty(n_boot)
    rows = max(1, min(n_boot, (1 << 22) // n))  # bounded memory: ~32 MB of resamples at once
    for s in range(0, n_boot, rows):
        b = min(n_boot, s + rows) - s
        idx = rng.integers(0, n, size=(b, n))
        out[s:s + b] = np.quantile(x[idx], q, axis=1)
    lo, hi = np.quantile(out, [(1 - level) / 2, (1 + level) / 2])
    out.setflags(write=False)
    return BootstrapCutoff(cutoff=float(out.mean()),
                           confidence_interval=ConfidenceInterval(float(lo), float(hi)),
                           n_boot=n_boot, alpha=alpha, level=level,
                           standard_error=float(out.std(ddof=1)),
                           sample_quantile=float(np.quantile(x, q)), n=n, percentiles=out)
