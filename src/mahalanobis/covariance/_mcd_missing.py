"""The MCD with missing cells: ``mcd(X, nan_policy="em")``.

Approach: the EM-within-C-step algorithm of Cheng & Victoria-Feser (2002) and Copt &
Victoria-Feser (2004): the C-steps of FastMCD run on the observed-data likelihood.

1. Start: FastMCD (or DetMCD) on a copy of X whose missing cells hold values drawn at random
   from their column's observed cells (seeded by ``random_state``) gives an h-subset (the
   imputed copy is used for nothing else).
2. C-step with missing cells: the centre and scatter of the h-subset are its EM
   (maximum-likelihood) estimates; every row is then judged on its observed coordinates (the
   marginal D^2 of :mod:`mahalanobis._missing`), and the h rows with the largest
   chi2_{k_i} p-values (k_i the row's observed count) form the next subset. With nothing
   missing the p-values rank rows as D^2 does, so this is the ordinary C-step. Repeat until
   the subset does not change.
3. Raw estimate: EM of the final subset (divisor h - 1 as robustbase), times the MCD
   consistency and small-sample factors of :func:`mcd`; reweighting: the rows whose marginal
   D^2 is below chi2_{k_i, 0.975}, their EM estimate, times the reweighting factors.

Why not rrcovNA's ``CovNAMcd`` (impute with ``impSeqRob``, then MCD of the completed data):
an imputed cell is a guess that MCD then treats as a measurement, which shrinks the scatter
and judges an incomplete row on p coordinates when it has fewer; here each row counts only
with what was observed, and is judged on the chi-squared law of that count. The factors are
those of complete data (exact for complete rows, an approximation for incomplete ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .. import _linalg, _missing
from .._validation import as_data, check_random_state
from ..errors import SingularCovarianceError
from ._mcd_factors import h_alpha_n, mcd_consistency, mcd_small_sample
from .em import em_fit
from .mcd import REWEIGHT_QUANTILE, MCDResult, mcd

__all__ = ["MCDMissingResult", "mcd_missing"]

#: most C-steps with missing cells
MAX_CSTEPS = 100


class MCDMissingResult(MCDResult):
    """A fitted MCD with missing cells: the fields of :class:`MCDResult` (``raw_distances``
    are marginal D^2 on each row's observed coordinates) plus the missingness summary.

    Attributes
    ----------
    n_observed : ndarray of int, shape (n_samples,)
        Observed coordinates of each row (the degrees of freedom it was judged on).
    missing_fraction, n_complete, n_patterns, missing_per_column
        As in :class:`~mahalanobis.covariance.EMResult`.

    See Also
    --------
    mcd : The estimator that returns it (``nan_policy="em"``).
    EMResult : The non-robust maximum-likelihood fit with missing cells.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> X[::7, 1] = np.nan
    >>> r = mh.covariance.mcd(X, nan_policy="em", random_state=0)
    >>> r.n_complete, r.n_observed[:8].tolist()
    (171, [2, 3, 3, 3, 3, 3, 3, 2])
    """

    _fields = (*MCDResult._fields, "n_observed",  # type: ignore[assignment]
               "missing_fraction", "n_complete", "n_patterns", "missing_per_column")
    _repr_fields = (*MCDResult._repr_fields, "missing_fraction")  # type: ignore[assignment]
    n_observed: np.ndarray
    missing_fraction: float
    n_complete: int
    n_patterns: int
    missing_per_column: np.ndarray


def _em_subset(A: np.ndarray, rows: np.ndarray, start: Any = None) -> dict[str, Any]:
    sub = A[rows]
    return em_fit(sub, _missing.missing_rows(sub), tol=1e-9, max_iter=500, start=start)


def _marginal(A: np.ndarray, mr: _missing.MissingRows, center: np.ndarray,
              cov: np.ndarray) -> np.ndarray:
    L = _linalg.cholesky(cov, "MCD covariance")
    W = _linalg.inverse_triangular(L, lower=True)
    return _missing.marginal_sq(A, mr, center, W, True,
                                lambda B: _linalg.sq_distances(B, center, W, True)[0])


def _ranked(d2: np.ndarray, k: np.ndarray, h: int, obs: np.ndarray) -> np.ndarray:
    """The h rows with the largest chi2_{k_i} p-values of their marginal D^2 (sorted); rows
    with nothing observed come last.

    Guard: each column must be observed in at least its share of the subset (h n_j / n rows,
    n_j the rows observing it), so that the subset covers the fraction h / n of every
    column's observed values, as the MCD does for complete data. Without it a column missing
    in many rows can be estimated from a few tightly clustered rows of the subset, its
    variance collapses and the determinant with it (a spurious optimum).
    The best-ranked rows observing a short column replace the worst-ranked rows of the subset
    that do not observe it; with cells missing at random in moderate numbers the top h rows
    already satisfy it."""
    logp = np.full(d2.shape, -np.inf)
    ok = k > 0
    logp[ok] = stats.chi2.logsf(d2[ok], k[ok])
    order = np.argsort(-logp, kind="stable")
    inside = np.zeros(d2.shape[0], dtype=bool)
    inside[order[:h]] = True
    need = np.floor(h * obs.mean(axis=0)).astype(int)
    for j in np.flatnonzero(obs[inside].sum(axis=0) < need):
        short = int(need[j] - obs[inside, j].sum())
        if short <= 0:
            continue
        add = [i for i in order if not inside[i] and obs[i, j]][:short]
        drop = [i for i in order[::-1] if inside[i] and not obs[i, j]][:len(add)]
        inside[add[:len(drop)]] = True
        inside[drop] = False
    return np.flatnonzero(inside)


def _hot_deck(A: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of A whose missing cells hold values drawn at random from the observed cells of
    their column (the start only: it keeps each column's distribution, so a column missing in
    many rows does not pile h rows onto one value as median imputation would)."""
    miss = np.isnan(A)
    if not miss.any():
        return A
    filled = A.copy()
    for j in np.flatnonzero(miss.any(axis=0)):
        obs = A[~miss[:, j], j]
        filled[miss[:, j], j] = rng.choice(obs, size=int(miss[:, j].sum()))
    return filled


def mcd_missing(X: Any, *, support_fraction: float, n_starts: int, deterministic: bool,
                reweight: bool, correction: bool, random_state: Any,
                progress: bool) -> MCDMissingResult:
    """:func:`mahalanobis.covariance.mcd` with ``nan_policy="em"`` (see the module notes)."""
    data = as_data(X, "X", nan_policy="propagate", min_samples=1)
    A = data.values
    n, p = A.shape
    mr = _missing.missing_rows(A)
    _missing.check_pairs_observed(A, data.columns)
    if n <= p + 1:
        raise SingularCovarianceError(
            f"X has {n} rows for {p} features: the MCD needs n_samples > n_features + 1.",
            rank=min(n - 1, p))
    h = h_alpha_n(support_fraction, n, p)
    rng = check_random_state(0 if deterministic and random_state is None else random_state)
    filled = _hot_deck(A, rng)
    start = mcd(filled, support_fraction=support_fraction, n_starts=n_starts,
                deterministic=deterministic, reweight=False, correction=correction,
                random_state=rng, progress=progress)
    subset = np.flatnonzero(np.asarray(start.support))
    fit = _em_subset(A, subset)
    k = mr.n_observed
    obs = ~np.isnan(A)
    n_csteps = 0
    for n_csteps in range(1, MAX_CSTEPS + 1):  # noqa: B007 - reported
        new = _ranked(_marginal(A, mr, fit["center"], fit["cov"]), k, h, obs)
        if np.array_equal(new, subset):
            break
        subset = new
        fit = _em_subset(A, subset, start=(fit["center"], fit["cov"]))
    support = np.zeros(n, dtype=bool)
    support[subset] = True
    S_h = fit["cov"] * (h / (h - 1.0))  # divisor h - 1, as robustbase
    log_det_raw = _linalg.log_det_from_cholesky(_linalg.cholesky(S_h, "raw MCD covariance"))
    c_raw = mcd_consistency(p, h / n) if h < n else 1.0
    s_raw = mcd_small_sample(p, n, support_fraction) if correction and h < n else 1.0
    raw_center, raw_cov = fit["center"], S_h * (c_raw * s_raw)
    raw_d2 = _marginal(A, mr, raw_center, raw_cov)
    w = np.zeros(n, dtype=bool)
    ok = k > 0
    w[ok] = raw_d2[ok] < stats.chi2.ppf(REWEIGHT_QUANTILE, k[ok])
    center, cov = raw_center, raw_cov
    c_rew = s_rew = 1.0
    if reweight:
        rows_w = np.flatnonzero(w)
        fw = _em_subset(A, rows_w, start=(raw_center, raw_cov))
        nw = rows_w.size
        center, cov = fw["center"], fw["cov"] * (nw / (nw - 1.0))
        if nw != n:
            c_rew = mcd_consistency(p, REWEIGHT_QUANTILE)
            s_rew = (mcd_small_sample(p, n, support_fraction, reweighted=True)
                     if correction else 1.0)
            cov = cov * (c_rew * s_rew)
    summ = _missing.summary(mr)
    algorithm = ("DetMCD" if deterministic else "FastMCD") + "+EM"
    return MCDMissingResult._build(
        center, cov=cov, method="mcd", n_samples=n, data=data,
        raw_center=raw_center, raw_cov=raw_cov, h=int(h), support=support, weights=w,
        raw_distances=raw_d2, log_det_raw=float(log_det_raw), consistency_raw=float(c_raw),
        small_sample_raw=float(s_raw), consistency_rew=float(c_rew),
        small_sample_rew=float(s_rew), n_csteps=int(n_csteps), best_starts=(),
        support_fraction=float(support_fraction), algorithm=algorithm,
        reweighted=bool(reweight), n_observed=k, missing_fraction=float(summ.missing_fraction),
        n_complete=summ.n_complete, n_patterns=summ.n_patterns,
        missing_per_column=summ.missing_per_column)
