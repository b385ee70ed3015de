"""Bootstrap calibration of a D^2 cutoff (Phaladiganon et al. 2011)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_fraction, check_int, check_random_state

__all__ = ["BootstrapCutoff", "ConfidenceInterval", "bootstrap_cutoff"]


class ConfidenceInterval(NamedTuple):
    """A confidence interval ``(low, high)``; unpacks like a tuple.

    Parameters
    ----------
    low : float
        Lower end.
    high : float
        Upper end.

    See Also
    --------
    BootstrapCutoff : Carries one for its cutoff.

    Examples
    --------
    >>> from mahalanobis.inference import ConfidenceInterval
    >>> ci = ConfidenceInterval(7.5, 12.0)
    >>> ci.high - ci.low
    4.5
    >>> low, high = ci
    """

    low: float
    high: float


@dataclass(frozen=True, repr=False, eq=False)
class BootstrapCutoff:
    """Bootstrap estimate of the (1 - alpha) quantile of in-control D^2.

    Returned by :func:`bootstrap_cutoff`; immutable.

    Attributes
    ----------
    cutoff : float
        Mean of the bootstrap (1 - alpha) percentiles.
    confidence_interval : ConfidenceInterval
        Percentile interval (at ``level``) of the bootstrap percentiles.
    n_boot, alpha, level : int, float, float
        As passed.
    standard_error : float
        Standard deviation of the bootstrap percentiles.
    sample_quantile : float
        The (1 - alpha) quantile of the data themselves.
    n : int
        Number of squared distances resampled.
    percentiles : ndarray (n_boot,)
        The bootstrap percentiles.

    See Also
    --------
    bootstrap_cutoff : Computes it.
    cutoff : Parametric cutoffs (chi-squared, Beta, F, ...).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> from mahalanobis.inference import bootstrap_cutoff
    >>> X = np.random.default_rng(0).standard_t(5, size=(200, 3))
    >>> d2 = mh.fit(X).distance(X, squared=True)
    >>> bootstrap_cutoff(d2, 0.05, n_boot=200, random_state=0)
    BootstrapCutoff(cutoff=9.3249, confidence_interval=(7.47798, 11.9743), level=0.95,
                    alpha=0.05, n_boot=200, n=200)
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
        """The result as a one-row DataFrame.

        Returns
        -------
        pandas.DataFrame
            Columns cutoff, low, high, standard_error, alpha, level, n_boot and n.

        See Also
        --------
        BootstrapCutoff.percentiles : The bootstrap distribution itself.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.inference import bootstrap_cutoff
        >>> d2 = np.random.default_rng(0).chisquare(3, size=200)
        >>> list(bootstrap_cutoff(d2, n_boot=50, random_state=0).to_frame().columns)
        ['cutoff', 'low', 'high', 'standard_error', 'alpha', 'level', 'n_boot', 'n']
        """
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
    n_boot = check_int(n_boot, "n_boot", 2)
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

    Parameters
    ----------
    d2 : array-like of shape (n,)
        In-control squared distances (n >= 2, finite, non-negative).
    alpha : float, default 0.025
        Test level: the cutoff estimates the (1 - alpha) quantile.
    n_boot : int, default 1000
        Number of bootstrap resamples (>= 2).
    level : float, default 0.95
        Confidence level of the interval.
    random_state : int or numpy Generator, optional
        Seeds the resampling.

    Returns
    -------
    BootstrapCutoff
        The cutoff, its confidence interval and standard error, and the bootstrap percentiles.

    Raises
    ------
    ValueError
        When ``d2`` is not 1-D, has fewer than 2, non-finite or negative values, or
        ``alpha``, ``level`` or ``n_boot`` is out of range.

    See Also
    --------
    cutoff : Parametric cutoffs for normal data.

    References
    ----------
    P. Phaladiganon, S. B. Kim, V. C. P. Chen, J.-G. Baek and S.-K. Park (2011). Bootstrap-based
    T^2 multivariate control charts. Communications in Statistics - Simulation and Computation
    40(5), 645-662.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> from mahalanobis.inference import bootstrap_cutoff
    >>> X = np.random.default_rng(0).standard_t(5, size=(200, 3))   # heavy tails
    >>> d2 = mh.fit(X).distance(X, squared=True)
    >>> b = bootstrap_cutoff(d2, 0.05, n_boot=200, random_state=0)
    >>> round(b.cutoff, 3), [round(v, 3) for v in b.confidence_interval]
    (9.325, [7.478, 11.974])
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
