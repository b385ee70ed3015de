"""Minimum Covariance Determinant (MCD): FastMCD, DetMCD, the exact univariate MCD.

The MCD (Rousseeuw 1984) of a data set of n points in p dimensions is the mean and covariance
of the h-subset whose covariance has the smallest determinant. This module follows R's
robustbase ``covMcd`` step for step:

* FastMCD (Rousseeuw & Van Driessen 1999), see :mod:`._mcd_fast`;
* DetMCD (Hubert, Rousseeuw & Verdonck 2012) with robustbase's six deterministic starts;
* for p = 1 the exact MCD: the contiguous window of h sorted values with the smallest sum of
  squares;
* the raw estimate scaled by the Croux-Haesbroeck consistency factor ``.MCDcons(p, h/n)`` and
  the Pison-Van Aelst-Willems small-sample factor ``.MCDcnp2(p, n, support_fraction)``;
* reweighting (one-step, hard rejection at chi2_{p, 0.975}) scaled by ``.MCDcons(p, 0.975)``
  and ``.MCDcnp2.rew(p, n, support_fraction)``, the convention of robustbase >= 0.99-0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .. import _linalg
from .._deprecation import deprecated_alias, renamed_parameters
from .._linalg import single_threaded_blas
from .._validation import (
    Data,
    as_data,
    check_bool,
    check_fraction,
    check_int,
    check_nan_policy,
    check_random_state,
    check_spread,
)
from ..errors import ExactFitError, SingularCovarianceError
from ._base import FitResult
from ._mcd_factors import h_alpha_n, mcd_consistency, mcd_small_sample
from ._mcd_fast import MAX_CSTEPS, _concentrate, _fit, _subset_moments, fast_mcd
from ._mcd_init import SingularSubset, do_scale, hyperplane_error, scale_for, six_starts

__all__ = ["MCDResult", "h_alpha_n", "mcd", "mcd_consistency", "mcd_small_sample"]

#: Quantile of chi2_p below which a point keeps weight 1 in the reweighting step.
REWEIGHT_QUANTILE = 0.975


class MCDResult(FitResult):
    """A fitted MCD: a :class:`~mahalanobis.Metric` (``center``, ``cov``: the reweighted
    estimates, or the raw ones when ``reweight=False``) with the fit's diagnostics.

    Attributes
    ----------
    raw_center, raw_cov : ndarray
        Mean of the best h-subset and its covariance (divisor h - 1) times
        ``consistency_raw * small_sample_raw`` (robustbase ``raw.center``, ``raw.cov``).
    h : int
        Size of the MCD subset (robustbase ``h.alpha.n(alpha, n, p)`` with alpha the
        ``support_fraction``).
    support : ndarray of bool, shape (n_samples,)
        The raw h-subset (robustbase ``best``).
    weights : ndarray of bool, shape (n_samples,)
        Points kept by the reweighting step: raw squared distance below chi2_{p, 0.975}
        (robustbase ``raw.weights``); reported also when ``reweight=False``.
    log_det_raw : float
        The MCD objective: natural log of det of the *uncorrected* covariance (divisor h - 1)
        of the best h-subset, before any consistency or small-sample factor -- the same
        quantity as robustbase's ``crit``. For p = 1 it is log(SS / (h - 1)), SS the sum of
        squares of the h values closest to the raw centre, again as robustbase.
    consistency_raw, small_sample_raw : float
        ``.MCDcons(p, h/n)`` and ``.MCDcnp2(p, n, support_fraction)`` (1 when
        ``correction=False``).
    consistency_rew, small_sample_rew : float
        ``.MCDcons(p, 0.975)`` and ``.MCDcnp2.rew(p, n, support_fraction)``; both 1 when every
        point
        kept weight 1 (as robustbase), and ``small_sample_rew`` is 1 when
        ``correction=False``.
    raw_distances : ndarray of shape (n_samples,)
        Squared distances w.r.t. the raw estimate (robustbase ``raw.mah``).
    n_csteps : int
        C-steps taken by the winning candidate in the last stage (0 for p = 1 and h = n).
    best_starts : tuple of int
        DetMCD only: which of the six starts (0-based) reached the optimum (robustbase
        ``iBest`` - 1); empty otherwise.
    support_fraction, algorithm, reweighted
        The arguments and ``algorithm`` in {"FastMCD", "DetMCD", "univariate", "classical"}.

    See Also
    --------
    mcd : The estimator that returns it.
    FitResult.to_frame : The per-row support, weights and raw distances.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6
    >>> r = mh.fit(X, method="mcd", random_state=0)
    >>> r.algorithm, r.h, int(r.support[:5].sum()), r.n_outliers
    ('FastMCD', 52, 0, 7)
    """

    _fields = ("raw_center", "raw_cov", "h", "support", "weights", "raw_distances",
               "log_det_raw", "consistency_raw", "small_sample_raw", "consistency_rew",
               "small_sample_rew", "n_csteps", "best_starts", "support_fraction", "algorithm",
               "reweighted")
    _repr_fields = ("algorithm", "support_fraction", "h", "log_det_raw", "n_outliers",
                    "reweighted")
    raw_center: np.ndarray
    raw_cov: np.ndarray
    h: int
    support: np.ndarray
    weights: np.ndarray
    raw_distances: np.ndarray
    log_det_raw: float
    consistency_raw: float
    small_sample_raw: float
    consistency_rew: float
    small_sample_rew: float
    n_csteps: int
    best_starts: tuple[int, ...]
    support_fraction: float
    algorithm: str
    reweighted: bool

    @property
    def n_outliers(self) -> int:
        """Number of points given weight 0 by the reweighting step.

        See Also
        --------
        mahalanobis.inference.cutoff : Finite-sample cutoffs for flagging new points.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> X[:5] += 6
        >>> mh.fit(X, method="mcd", random_state=0).n_outliers
        7
        """
        return int((~np.asarray(self.weights)).sum())

    alpha = deprecated_alias("alpha", "support_fraction")

    def new_point_reference(self) -> tuple[str, int | None]:
        """The law ``pvalue``/``outliers`` judge a *new* point's D^2 by (``reference="auto"``).

        Below 500 rows: ``("simulated", n)``, the law of a new independent point's D^2
        under this same estimator (the MCD with this ``support_fraction``, algorithm,
        reweighting and small-sample correction) at (n, p), simulated once on clean
        N(0, I_p) data -- exact, the MCD being affine equivariant --, seeded and cached on
        disk (:func:`mahalanobis.inference.calibration.new_point_law`). From 500 rows on:
        Cerioli's (2010) prediction law for points outside the reweighting,
        (m^2 - 1) p / (m (m - p)) F(p, m - p), m = the rows kept (``("f", m)``), or
        chi-squared for a raw fit. At small n the F law is far off for this estimate
        (reweighted at chi2_{p, 0.975}): at n = 40, p = 3 it flags about 8 % of new clean
        points at alpha = 0.025 (``benchmarks/RESULTS.md``, "Calibration").

        Returns
        -------
        tuple of (str, int or None)
            ``("simulated", n)``, ``("f", m)`` or ``("chi2", None)``.

        See Also
        --------
        mahalanobis.Metric.new_point_reference : The rule for other metrics.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((200, 3))
        >>> mh.covariance.mcd(X, random_state=0).new_point_reference()
        ('simulated', 200)
        """
        from .._calibration import NEW_POINT_SIMULATE_BELOW
        n = int(self.n_samples or 0)
        if self.algorithm != "classical" and 0 < n < NEW_POINT_SIMULATE_BELOW and \
                type(self) is MCDResult:
            return "simulated", n
        m = int(np.sum(self.weights))
        if self.reweighted and m > self.n_features + 1:
            return "f", m
        return "chi2", None

    def _prediction_law(self, progress: bool = False) -> Any:
        """The simulated law of ``new_point_reference()`` (same options as this fit)."""
        from .._calibration import new_point_law
        fraction, det = float(self.support_fraction), self.algorithm == "DetMCD"
        reweight, correction = bool(self.reweighted), bool(self.small_sample_raw != 1.0)
        options = {"support_fraction": fraction, "deterministic": det, "reweight": reweight,
                   "correction": correction}

        def fit(Z: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
            r = mcd(Z, support_fraction=fraction, deterministic=det, reweight=reweight,
                    correction=correction, random_state=seed)
            return np.asarray(r.center), np.asarray(r.cov)

        return new_point_law(fit, key=f"mcd|{sorted(options.items())!r}",
                             n=int(self.n_samples or 0), p=self.n_features,
                             progress=progress)


def _progress_bar(enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("progress=True needs tqdm: pip install 'mahalanobis[progress]'"
                          ) from None
    return tqdm(total=None, desc=desc, unit="stage", leave=False)


def _check_args(support_fraction: Any, n_starts: Any, nan_policy: str) -> tuple[float, int]:
    if nan_policy not in ("raise", "omit"):
        if not isinstance(nan_policy, str):
            check_nan_policy(nan_policy, ("raise", "omit", "em"))  # the type's error
        raise ValueError(f"nan_policy must be 'raise', 'omit' or 'em' for the MCD; got "
                         f"{nan_policy!r}.")
    support_fraction = check_fraction(
        support_fraction, "support_fraction", low=0.5, high=1.0, low_open=False,
        high_open=False, hint="support_fraction is the share of points the MCD subset covers "
        "(robustbase's alpha): 0.5 gives the highest breakdown point, 0.75 is a common choice.")
    return support_fraction, check_int(n_starts, "n_starts", 1, "the number of random starts")


def _column_median_and_spread(X: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Column medians and the h-th smallest |x_j - median_j| of each column, one contiguous
    column copy at a time (extra memory: one column, not three copies of X)."""
    p = X.shape[1]
    med, spread = np.empty(p), np.empty(p)
    for j in range(p):
        col = np.array(X[:, j])
        med[j] = np.median(col)
        np.subtract(col, med[j], out=col)
        np.abs(col, out=col)
        col.partition(h - 1)
        spread[j] = col[h - 1]
    return med, spread


def _column_exact_fit(X: np.ndarray, h: int, med: np.ndarray, hth: np.ndarray) -> None:
    """robustbase's exact-fit code 3: the h-th smallest |x_j - median_j| is zero, i.e. at least
    h points share one value of variable j (a constant column is the extreme case)."""
    for j in np.flatnonzero(hth == 0):
        a = np.zeros(X.shape[1])
        a[j] = 1.0
        on = X[:, j] == med[j]
        advice = ("Drop that column: a constant column carries no information for a distance"
                  if on.all() else "Drop or jitter that column, or use method='mrcd' (which "
                  "regularises it)")
        raise ExactFitError(
            f"X: {int(on.sum())} of {X.shape[0]} observations (at least h = {h}) have the same "
            f"value {med[j]:.6g} in column {j}, so they lie on the hyperplane x[{j}] = "
            f"{med[j]:.6g} and the MCD scatter is singular. {advice}.",
            hyperplane=a, offset=float(med[j]), on_hyperplane=on, rank=X.shape[1] - 1)


def _mean_cov(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (divisor n - 1) in one exact pass, no centred copy of A."""
    mom = _linalg.moments(A)
    return mom.mean, mom.scatter(1)


def _gathered_mean_cov(A: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (divisor k - 1) of A[rows] without a copy of A[rows]."""
    mean, M = _subset_moments(A, np.sort(rows))
    return mean, M / (rows.size - 1)


def _sq_dist(X: np.ndarray, center: np.ndarray, cov: np.ndarray) -> np.ndarray:
    L = _linalg.cholesky(cov, "cov")
    W = _linalg.inverse_triangular(L, lower=True)
    return _linalg.sq_norms_of_whitened(X, center, W, True)


def _subset_exact_fit(X: np.ndarray, rows: np.ndarray, h: int, what: str) -> ExactFitError:
    err = hyperplane_error(X, rows, h, what)
    a = err.hyperplane
    k = int(np.flatnonzero(np.abs(a) > 1e-12 * np.max(np.abs(a)))[0])
    if a[k] < 0:  # a deterministic sign: first nonzero coefficient positive
        err.hyperplane, err.offset = -a, -err.offset
    return err


def _univariate(x: np.ndarray, h: int) -> tuple[np.ndarray, float, float, float]:
    """Exact MCD for p = 1 (robustbase's Fortran ``rfmcduni``): among the n - h + 1 windows
    of h consecutive sorted values, the one with the smallest sum of squares SS; ties are
    resolved as robustbase does, by the middle one of the tied windows. Returns (support
    indices, window mean, SS / h, SS)."""
    order = np.argsort(x, kind="stable")
    s = x[order] - np.median(x)
    c1 = np.concatenate([[0.0], np.cumsum(s)])
    c2 = np.concatenate([[0.0], np.cumsum(s * s)])
    sums = c1[h:] - c1[:-h]
    ss = (c2[h:] - c2[:-h]) - sums * sums / h
    ss = np.maximum(ss, 0.0)
    best = ss.min()
    ties = np.flatnonzero(ss <= best * (1 + 1e-12) + 1e-300)
    j = int(ties[(ties.size + 1) // 2 - 1])
    window = order[j:j + h]
    win = x[window]
    center = float(win.mean())
    SS = float(np.sum((win - center) ** 2))
    return window, center, SS / h, SS


def _detmcd(X: np.ndarray, h: int) -> tuple[np.ndarray, int, tuple[int, ...]]:
    """DetMCD (Hubert, Rousseeuw & Verdonck 2012) as robustbase's ``.detmcd``: standardise by
    median / Qn (scaleTau2 for n >= 1000), six starts (:func:`six_starts`), C-steps on each to
    convergence; the start with the smallest log det wins (the first one on ties)."""
    n, _p = X.shape
    scalefn = scale_for(n)
    Z = do_scale(X, scalefn)[0]
    sets = np.sort(six_starts(Z, h, scalefn), axis=1).astype(np.int32 if n < 2**31 else np.intp)
    start, bad = _fit(Z, sets)
    if bad.any():
        raise SingularSubset(sets[np.flatnonzero(bad)[0]])

    def on_singular(rows: np.ndarray) -> None:
        raise SingularSubset(rows)

    final, steps = _concentrate(Z, h, start, MAX_CSTEPS, on_singular)
    win = int(np.argmin(final.logdet))
    best = tuple(int(k) for k in np.flatnonzero(final.logdet == final.logdet[win]))
    return np.sort(final.idx[win]), int(steps[win]) + 1, best


@renamed_parameters(alpha="support_fraction")
def mcd(X: ArrayLike, *, support_fraction: float = 0.5, n_starts: int = 500,
        deterministic: bool = False,
        reweight: bool = True, correction: bool = True, random_state: Any = None,
        progress: bool = False, nan_policy: str = "raise") -> MCDResult:
    """Minimum Covariance Determinant location and scatter, as R's robustbase ``covMcd``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), n > p + 1
        The data.
    support_fraction : float in [0.5, 1]
        Share of the data the MCD subset covers (robustbase's and rrcov's ``alpha``):
        h = ``h_alpha_n(support_fraction, n, p)`` (robustbase ``h.alpha.n``); 0.5 gives the
        maximal breakdown point
        (n - p + 1) / 2 / n, 1 gives the classical estimates followed by reweighting.
    n_starts : int
        Random (p+1)-subsets for FastMCD (all of them when there are no more than that).
    deterministic : bool
        DetMCD (six deterministic starts; no randomness) instead of FastMCD.
    reweight : bool
        Return the reweighted estimates as ``center``/``cov`` (default), else the raw ones.
    correction : bool
        Apply the small-sample factors (robustbase ``use.correction``).
    random_state : None, int or numpy Generator
        Seed for FastMCD's random starts; the same seed gives the same result.
    progress : bool
        Show a tqdm progress bar (needs the ``mahalanobis[progress]`` extra).
    nan_policy : {"raise", "omit", "em"}
        Rows with NaN or inf: an error, or dropped (``result.omitted`` lists them); ``"em"``
        keeps incomplete rows (NaN = missing cell): C-steps on the observed-data likelihood
        (EM within the C-steps, Copt & Victoria-Feser 2004), each row judged on its observed
        coordinates; returns an ``MCDMissingResult`` (the fields below plus ``n_observed``
        and the missingness summary).

    Returns
    -------
    MCDResult
        A :class:`~mahalanobis.Metric` with the raw and reweighted estimates, the subset, the
        weights, the objective and the correction factors (see :class:`MCDResult`).

    Raises
    ------
    ExactFitError
        When at least h points lie on a hyperplane (including a variable with at least h equal
        values, e.g. a constant column): the MCD scatter is singular. The error carries the
        hyperplane's unit normal ``hyperplane``, ``offset`` and the mask ``on_hyperplane``.
    ValueError
        For n <= p + 1 (use :func:`~mahalanobis.covariance.mrcd` or a shrinkage estimator)
        or support_fraction outside [0.5, 1].

    See Also
    --------
    mrcd : The regularised MCD (for p close to or above n).
    mahalanobis.inference.cerioli_cutoffs : Finite-sample cutoffs for its distances.
    h_alpha_n : The subset size h.
    MCDResult : The result and its diagnostics.

    Notes
    -----
    FastMCD: Rousseeuw & Van Driessen (1999), Technometrics 41:212-223. DetMCD: Hubert,
    Rousseeuw & Verdonck (2012), J. Comput. Graph. Statist. 21:618-637. Consistency factor:
    Croux & Haesbroeck (1999), J. Multivariate Anal. 71:161-190. Small-sample factors: Pison,
    Van Aelst & Willems (2002), Metrika 55:111-123. The reweighted scatter is scaled by
    ``.MCDcons(p, 0.975)`` (the factor for hard rejection at the 0.975 quantile) as in
    robustbase >= 0.99-0; robustbase 0.95-0 used ``.MCDcons(p, sum(w)/n)`` instead.
    For p = 1 both algorithms compute the exact univariate MCD (robustbase 0.95-0's DetMCD
    mis-scales p = 1 fits; its FastMCD result is reproduced).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6                                        # five far outliers
    >>> r = mh.fit(X, method="mcd", random_state=0)
    >>> r.h, bool(r.support[:5].any()), bool(r.weights[:5].max() == 0)
    (52, False, True)
    >>> mh.fit(X, method="mcd", deterministic=True).algorithm
    'DetMCD'
    """
    if nan_policy == "em":  # missing cells: EM within the C-steps (see _mcd_missing)
        from ._mcd_missing import mcd_missing
        support_fraction, n_starts = _check_args(support_fraction, n_starts, "raise")
        return mcd_missing(X, support_fraction=support_fraction, n_starts=n_starts,
                           deterministic=deterministic, reweight=reweight,
                           correction=correction, random_state=random_state,
                           progress=progress)
    support_fraction, n_starts = _check_args(support_fraction, n_starts, nan_policy)
    data = as_data(X, "X", nan_policy=nan_policy, min_samples=1)
    check_spread(data)  # variances float64 can hold
    A = data.values
    n, p = A.shape
    if n <= p + 1:
        raise SingularCovarianceError(
            f"X has {n} rows for {p} features: the MCD needs n_samples > n_features + 1 "
            "(and works best with n > 2 p). For n <= p use mh.covariance.mrcd(X) "
            "(method='mrcd'), method='ledoit_wolf' or method='modified_cholesky'.",
            rank=min(n - 1, p))
    rng = check_random_state(random_state)
    deterministic, reweight, correction, progress = (check_bool(v, k) for k, v in (
        ("deterministic", deterministic), ("reweight", reweight), ("correction", correction),
        ("progress", progress)))
    h = h_alpha_n(support_fraction, n, p)
    med, spread = _column_median_and_spread(A, h)
    _column_exact_fit(A, h, med, spread)
    bar = _progress_bar(progress, "MCD")
    best_starts: tuple[int, ...] = ()
    n_csteps = 0
    try:
        if h == n:
            algorithm, support = "classical", np.arange(n)
        elif p == 1:
            algorithm = "univariate"
            support, _, _, _ = _univariate(A[:, 0], h)
        else:
            algorithm = "DetMCD" if deterministic else "FastMCD"
            try:
                with single_threaded_blas():
                    if deterministic:
                        support, n_csteps, best_starts = _detmcd(A, h)
                    else:
                        Z = np.subtract(A, med)  # standardised in place: one copy of X
                        Z /= spread
                        support, _, n_csteps = fast_mcd(Z, h, n_starts, rng, bar)
                        del Z
            except SingularSubset as exc:
                raise _subset_exact_fit(A, exc.rows, h, f"found by {algorithm}") from None
    finally:
        if bar is not None:
            bar.close()
    return _finish(A, data, support, h, support_fraction, algorithm, reweight, correction, n_csteps,
                   best_starts)


def _finish(A: np.ndarray, data: Data, support: np.ndarray, h: int, support_fraction: float,
            algorithm: str, reweight: bool, correction: bool, n_csteps: int,
            best_starts: tuple[int, ...]) -> MCDResult:
    n, p = A.shape
    mask = np.zeros(n, dtype=bool)
    mask[support] = True
    if algorithm == "classical":
        raw_center, S = _mean_cov(A)
        c_raw = s_raw = 1.0
    else:
        c_raw = mcd_consistency(p, h / n)
        s_raw = mcd_small_sample(p, n, support_fraction) if correction else 1.0
    if algorithm == "univariate":
        x = A[:, 0]
        _, center1, var_h, _ = _univariate(x, h)
        raw_center = np.array([center1])
        S = np.array([[var_h]])  # robustbase: divisor h for p = 1
        dev = np.sort((x - center1) ** 2)[:h]
        log_det_raw = float(np.log(dev.sum() / max(1, h - 1)))
    else:
        if algorithm != "classical":
            raw_center, S = _gathered_mean_cov(A, support)
        try:
            L = _linalg.cholesky(S, "raw MCD covariance")
        except SingularCovarianceError:
            raise _subset_exact_fit(A, np.flatnonzero(mask), h, "the raw MCD subset") from None
        log_det_raw = _linalg.log_det_from_cholesky(L)
    raw_cov = S * (c_raw * s_raw)
    raw_d2 = _sq_dist(A, raw_center, raw_cov)
    w = raw_d2 < stats.chi2.ppf(REWEIGHT_QUANTILE, p)
    c_rew = s_rew = 1.0
    center, cov = raw_center, raw_cov
    if reweight:
        if w.sum() < p + 1:  # pragma: no cover - needs pathological data
            raise _subset_exact_fit(A, np.flatnonzero(w), h, "the reweighted subset")
        center, cov = _gathered_mean_cov(A, np.flatnonzero(w))
        if w.sum() != n:
            c_rew = mcd_consistency(p, REWEIGHT_QUANTILE)
            s_rew = (mcd_small_sample(p, n, support_fraction, reweighted=True)
                     if correction and algorithm != "classical" else 1.0)
            cov = cov * (c_rew * s_rew)
    try:
        L = _linalg.cholesky(cov, "reweighted MCD covariance")
    except SingularCovarianceError:
        raise _subset_exact_fit(A, np.flatnonzero(w), h, "the reweighted subset") from None
    return MCDResult._build(
        center, cov=cov, L=L, method="mcd", n_samples=n, data=data,
        raw_center=raw_center, raw_cov=raw_cov, h=int(h), support=mask, weights=w,
        raw_distances=raw_d2, log_det_raw=float(log_det_raw), consistency_raw=float(c_raw),
        small_sample_raw=float(s_raw), consistency_rew=float(c_rew),
        small_sample_rew=float(s_rew), n_csteps=int(n_csteps), best_starts=best_starts,
        support_fraction=float(support_fraction), algorithm=algorithm,
        reweighted=bool(reweight))

