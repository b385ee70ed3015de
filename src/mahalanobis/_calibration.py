"""Monte Carlo calibration of D^2 cutoffs, computed once and cached on disk.

Some robust estimators have no known finite-sample law for their distances. For them the
cutoff is calibrated by simulation, as in Chenouri, Steiner & Variyath (2009) for robust
control charts: draw ``n_reps`` clean data sets of the size in hand from N(0, I_p), apply the
same procedure, and take quantiles of the pooled squared distances (per-row level) and of each
data set's largest one (family-wise level). For affine-equivariant estimators (empirical, MCD,
MVE, S, MM, Stahel-Donoho) the law of the distances does not depend on the true mean and
covariance, so N(0, I) is exact; for the others (OGK, Tyler, spatial sign, MRCD) it is an
approximation.

The simulation is seeded (the same inputs give the same cutoff on every machine) and stored
as a small ``.npz`` file under the user's cache directory: ``$MAHALANOBIS_CACHE_DIR`` if set,
else ``$XDG_CACHE_HOME/mahalanobis``, else ``~/.cache/mahalanobis``.

:func:`new_point_law` does the same for the D^2 of a *new* point, independent of the data the
estimate came from (the prediction law: what ``Metric.pvalue``/``Metric.outliers`` need for
robust fits, whose F approximation is off at small n).

This module is in the core layer, so that fitted estimators can calibrate themselves; the
public names are re-exported by :mod:`mahalanobis.inference.calibration`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._progress import progress_bar
from ._validation import check_fraction, check_int

__all__ = ["CACHE_ENV", "SimulatedReference", "cache_dir", "new_point_law",
           "simulate_reference"]

#: Environment variable that overrides the cache directory.
CACHE_ENV = "MAHALANOBIS_CACHE_DIR"
#: Bumped whenever the simulation changes, so old cache files are not reused.
_VERSION = 1


def cache_dir() -> Path:
    """The directory calibrations are cached in (created on first write).

    ``$MAHALANOBIS_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/mahalanobis``, else
    ``~/.cache/mahalanobis``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    None

    See Also
    --------
    simulate_reference : what is stored there.

    Examples
    --------
    >>> import os
    >>> os.environ["MAHALANOBIS_CACHE_DIR"] = "/tmp/mh-cache-example"
    >>> str(cache_dir())
    '/tmp/mh-cache-example'
    >>> del os.environ["MAHALANOBIS_CACHE_DIR"]
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "mahalanobis"


@dataclass(frozen=True)
class SimulatedReference:
    """Simulated null law of the squared distances of one procedure at one (n, p).

    ``probs`` is an increasing grid of upper-tail probabilities; ``quantiles[k]`` the pooled
    per-row D^2 exceeded with probability ``probs[k]`` and ``max_quantiles[k]`` the largest D^2
    of a data set exceeded with that probability. ``n_reps`` clean data sets were drawn.
    """

    key: str
    n: int
    p: int
    n_reps: int
    probs: np.ndarray
    quantiles: np.ndarray
    max_quantiles: np.ndarray

    def cutoff(self, alpha: float = 0.025, level: str = "individual") -> float:
        """D^2 cutoff at level alpha, per row (``"individual"``) or family-wise over the n rows
        (``"simultaneous"``), by log-linear interpolation on the simulated grid."""
        alpha = check_fraction(alpha, "alpha")
        q = self.max_quantiles if level == "simultaneous" else self.quantiles
        lp = np.log(self.probs)
        la = np.log(alpha)
        if la < lp[0]:  # beyond the simulated tail: exponential extrapolation
            slope = _tail_slope(lp, q)
            return float(q[0] + (lp[0] - la) / slope)
        return float(np.interp(la, lp, q))

    def sf(self, d2: Any) -> np.ndarray:
        """Simulated per-row p-values P(D^2 >= d2) (exponential tail beyond the simulations)."""
        d2 = np.asarray(d2, dtype=float)
        lp, q = np.log(self.probs), self.quantiles
        out = np.exp(np.interp(d2, q[::-1], lp[::-1]))
        beyond = d2 > q[0]
        if beyond.any():
            out = np.where(beyond, np.exp(lp[0] - _tail_slope(lp, q) * (d2 - q[0])), out)
        return out


def _tail_slope(lp: np.ndarray, q: np.ndarray) -> float:
    """-d log P / d D^2 over the last decade of the simulated tail (positive)."""
    k = max(2, int(np.searchsorted(lp, lp[0] + np.log(10.0))))
    dq = q[0] - q[k - 1]
    return float((lp[k - 1] - lp[0]) / dq) if dq > 0 else 1.0


def simulate_reference(statistic: Callable[[np.ndarray], np.ndarray], *, key: str, n: int,
                       p: int, n_reps: int | None = None, random_state: int = 0,
                       progress: bool = False, cache: bool = True,
                       n_values: int | None = None) -> SimulatedReference:
    """Simulate (or read from the cache) the null law of a D^2 procedure at (n, p).

    Parameters
    ----------
    statistic : callable
        ``statistic(X)`` returns the n squared distances of the rows of a clean data set X
        of shape (n, p) under the procedure being calibrated.
    key : str
        Names the procedure and its options (part of the cache file name): two different
        procedures must never share a key.
    n, p : int
        Data size.
    n_reps : int, optional
        Simulated data sets; default ``clip(ceil(100000 / n), 200, 2000)`` (at least 10^5
        pooled rows where that takes no more than 2000 fits).
    random_state : int
        Seed of the simulation (fixed so that cached values are reproducible).
    progress : bool
        Show a progress bar (needs the ``progress`` extra).
    cache : bool
        Read and write the cache directory (:func:`cache_dir`).
    n_values : int, optional
        How many values ``statistic`` returns per data set (default n).

    Returns
    -------
    SimulatedReference

    Raises
    ------
    ValueError
        For n, p or n_reps below 1.

    See Also
    --------
    mahalanobis.outliers : uses this for robust estimators with no finite-sample formula.
    new_point_law : the law of a new point's D^2.

    Examples
    --------
    >>> import numpy as np
    >>> ref = simulate_reference(lambda X: ((X - X.mean(0)) ** 2).sum(1), key="doc-example",
    ...                          n=20, p=2, n_reps=200, cache=False)
    >>> 5.0 < ref.cutoff(0.05) < 7.0
    True
    """
    n = check_int(n, "n", 1)
    p = check_int(p, "p", 1)
    if n_reps is None:
        n_reps = int(np.clip(np.ceil(100000 / n), 200, 2000))
    n_reps = check_int(n_reps, "n_reps", 1)
    n_values = n if n_values is None else check_int(n_values, "n_values", 1)
    tag = "" if n_values == n else f"|{n_values}"
    digest = hashlib.sha1(f"{_VERSION}|{key}|{n}|{p}|{n_reps}|{random_state}{tag}".encode()
                          ).hexdigest()[:16]
    path = cache_dir() / f"calibration-{digest}.npz"
    if cache and path.exists():
        try:
            with np.load(path) as z:
                return SimulatedReference(key, n, p, n_reps, z["probs"], z["quantiles"],
                                          z["max_quantiles"])
        except (OSError, ValueError, KeyError):  # a damaged file is simulated again
            pass
    rng = np.random.default_rng(random_state)
    pooled = np.empty((n_reps, n_values))
    bar = progress_bar(progress, total=n_reps, desc=f"calibrating {key} n={n} p={p}",
                       unit="fit")
    try:
        for r in range(n_reps):
            pooled[r] = statistic(rng.standard_normal((n, p)))
            bar.update(1)
    finally:
        bar.close()
    maxes = pooled.max(axis=1)
    flat = pooled.ravel()
    probs = np.unique(np.concatenate([np.logspace(np.log10(1.0 / flat.size), 0.0, 400),
                                      [0.001, 0.0027, 0.005, 0.01, 0.025, 0.05, 0.1]]))
    quantiles = np.quantile(flat, 1.0 - probs)
    max_quantiles = np.quantile(maxes, 1.0 - np.maximum(probs, 1.0 / n_reps))
    ref = SimulatedReference(key, n, p, n_reps, probs, quantiles, max_quantiles)
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, probs=probs, quantiles=quantiles, max_quantiles=max_quantiles)
            os.replace(tmp, path)
        except OSError:  # pragma: no cover - a read-only home: the result is still returned
            pass
    return ref


def _new_point_reps(n: int) -> int:
    """Fits simulated for a new-point law: 3 10^4 / n, 100 to 1000. The new points are cheap,
    the fits are not, and the spread between fits is what needs averaging: at n = 40, p = 3
    the share of new points beyond the 0.025 quantile has a standard deviation of 0.036 from
    one fit to the next, so 750 fits pin the level to about +-5 %."""
    return int(np.clip(np.ceil(30000 / n), 100, 1000))


def new_point_law(fit: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]], *,
                  key: str, n: int, p: int, n_reps: int | None = None, n_new: int = 500,
                  progress: bool = False, cache: bool = True) -> SimulatedReference:
    """Simulate (or read from the cache) the law of a new point's D^2 under an estimator.

    Each of ``n_reps`` clean N(0, I_p) data sets of n rows is fitted, and the squared
    distances of ``n_new`` further independent N(0, I_p) points to that fit are pooled. For an
    affine-equivariant estimator (MCD, reweighted MCD, ...) this is the exact finite-sample
    prediction law at (n, p), whatever the true mean and covariance.

    Parameters
    ----------
    fit : callable
        ``fit(X, seed)`` returns (center, cov) of the estimator on X, using ``seed`` for any
        randomness of its own.
    key : str
        Names the estimator and its options (part of the cache file name).
    n, p : int
        Size of the data the estimate comes from.
    n_reps : int, optional
        Simulated fits; default ``clip(ceil(30000 / n), 100, 1000)``.
    n_new : int
        New points per fit.
    progress : bool
        Show a progress bar (needs the ``progress`` extra).
    cache : bool
        Read and write the cache directory (:func:`cache_dir`).

    Returns
    -------
    SimulatedReference
        ``cutoff(alpha)`` is the D^2 a new clean point exceeds with probability alpha,
        ``sf(d2)`` its p-values.

    Raises
    ------
    ValueError
        For n, p, n_reps or n_new below 1.

    See Also
    --------
    simulate_reference : the in-sample law (the rows the estimate came from).
    mahalanobis.Metric.new_point_reference : which fitted metrics use it.

    Examples
    --------
    >>> import numpy as np
    >>> def sample_moments(X, seed):
    ...     return X.mean(0), np.cov(X, rowvar=False)
    >>> law = new_point_law(sample_moments, key="doc-example", n=20, p=2, n_reps=300,
    ...                     cache=False)
    >>> 7.0 < law.cutoff(0.05) < 9.0          # exact: 2 * 21 * 19 / (20 * 18) F(2, 18)
    True
    """
    n_new = check_int(n_new, "n_new", 1)
    p = check_int(p, "p", 1)
    if n_reps is None:
        n_reps = _new_point_reps(check_int(n, "n", 1))
    calls = [0]

    def statistic(Z: np.ndarray) -> np.ndarray:
        calls[0] += 1
        center, cov = fit(Z, calls[0])
        new = np.random.default_rng([7919, calls[0]]).standard_normal((n_new, p)) - center
        L = np.linalg.cholesky(cov)
        W = np.linalg.solve(L, new.T)
        return np.einsum("ij,ij->j", W, W)

    return simulate_reference(statistic, key=f"new-point|{key}", n=n, p=p, n_reps=n_reps,
                              progress=progress, cache=cache, n_values=n_new)


#: Robust fits from this many rows on judge new points by Cerioli's F law with m instead of the
#: simulated one: each simulated fit costs more there, and the F law is then close (measured
#: at n = 500: 2.6 % of clean new points at alpha = 0.025, p = 2; benchmarks/RESULTS.md).
NEW_POINT_SIMULATE_BELOW = 500
