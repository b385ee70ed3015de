"""The MCD of a dask collection: subset search on a sample, C-steps over the full data.

1. A seeded sample of ``min(n, sample_size)`` rows is pulled to the client and the in-memory
   :func:`mahalanobis.covariance.mcd` (FastMCD or DetMCD) runs on it; the mean and covariance
   of its best h-subset are the starting estimate. (This is FastMCD's own strategy for large n
   -- nested subsets, then C-steps on the full data -- with the sample as the last nest.)
2. C-steps over the full data (Rousseeuw & Van Driessen 1999, Theorem 1) as distributed passes:
   a *selection pass* scores every row under the current estimate and finds the h-th smallest
   D^2 exactly -- each block counts its rows below a bracket [lo, hi] taken from the sample's
   D^2 quantiles and returns the few values inside it; the client picks the threshold t and
   hands out the ties at t block by block in row order -- then a *moments pass* merges the
   mean and co-moments of the h selected rows (Chan et al. tree, see :mod:`._common`). The
   steps stop when the objective log det S_H no longer decreases (the subset repeats).
3. Consistency and small-sample factors and the reweighting step exactly as the in-memory
   version (robustbase ``covMcd``), the reweighted moments in one more pass.

When the whole data set is the sample (n <= sample_size), step 1 is the in-memory fit on all
rows and step 2 confirms its subset: the result equals ``mcd(X)`` with the same seed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats

from .. import _linalg
from .._deprecation import renamed_parameters
from .._validation import check_random_state
from ..covariance.mcd import (
    REWEIGHT_QUANTILE,
    MCDResult,
    _check_args,
    _mean_cov,
    h_alpha_n,
    mcd,
    mcd_consistency,
    mcd_small_sample,
)
from ..errors import IllConditionedWarning, SingularCovarianceError
from ..metric import Metric
from ._common import (
    Prepared,
    finite_rows,
    moments_of,
    nan_error,
    prepare,
    require_dask,
    to_float,
    tree_merge,
)
from ._score import PerBlock, Scorer, map_rows, scorer_of

__all__ = ["MCDDaskResult", "fit_mcd", "mcd_dask"]

#: Rows pulled to the client for the subset search.
SAMPLE_SIZE = 10_000
#: Half-width of the selection bracket, in standard deviations of the sample quantile's rank.
_BRACKET_SD = 5.0


class MCDDaskResult(MCDResult):
    """An :class:`~mahalanobis.covariance.mcd.MCDResult` fitted to a dask collection.

    ``support``, ``weights`` and ``raw_distances`` are *lazy* dask objects over the rows (a
    dask Array, or a dask Series with the DataFrame's index); compute them when needed.
    Extra attributes: ``sample_size`` (rows of the in-memory subset search), ``start_center``
    and ``start_cov`` (its estimate, where the full-data C-steps began), ``n_passes`` (passes
    over the data) and ``n_weights`` (rows kept by the reweighting step).
    """

    _fields = (*MCDResult._fields, "sample_size", "start_center", "start_cov",  # type: ignore[assignment]
               "n_passes", "n_weights")
    sample_size: int
    start_center: np.ndarray
    start_cov: np.ndarray
    n_passes: int
    n_weights: int

    @property
    def n_outliers(self) -> int:
        """Number of rows given weight 0 by the reweighting step."""
        return int(self.n_samples or 0) - self.n_weights


def _metric(center: np.ndarray, S: np.ndarray, what: str) -> Metric:
    """A Metric without the ill-conditioning warning (internal estimates)."""
    try:
        L = _linalg.cholesky(S, what)
    except SingularCovarianceError as exc:
        raise SingularCovarianceError(
            f"X: {what} is singular: at least h observations lie on a hyperplane (an exact "
            "fit). Drop collinear or constant columns, or compute a smaller data set into "
            "memory and use mh.covariance.mcd, which reports the hyperplane.",
            rank=exc.rank, min_eigenvalue=exc.min_eigenvalue) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        return Metric.from_cholesky(np.asarray(center, dtype=float), L)


# ---------------------------------------------------------------------------- block tasks
def _rows(block: Any, nan_policy: str, offset: int | None) -> np.ndarray:
    return _rows_dropped(block, nan_policy, offset)[0]


def _rows_dropped(block: Any, nan_policy: str, offset: int | None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """The block's finite rows and the positions (in the block) of the dropped ones."""
    A = to_float(block)
    ok = finite_rows(A)
    if ok.all():
        return A, None
    if nan_policy == "raise":
        raise nan_error(block, ~ok, offset)
    return A[ok], np.flatnonzero(~ok)


def _take(block: Any, local: np.ndarray) -> np.ndarray:
    return to_float(block)[local] if not hasattr(block, "iloc") else to_float(block.iloc[local])


def _bracket(block: Any, scorer: Scorer, lo: float, hi: float, nan_policy: str,
             offset: int | None) -> tuple[int, int, np.ndarray]:
    """(finite rows, rows with D^2 < lo, the D^2 values in [lo, hi])."""
    d2 = scorer.sq(_rows(block, nan_policy, offset))
    return d2.shape[0], int(np.count_nonzero(d2 < lo)), d2[(d2 >= lo) & (d2 <= hi)]


def _selection(d2: np.ndarray, t: float, quota: int) -> np.ndarray:
    """Rows with D^2 < t plus the first ``quota`` rows with D^2 == t."""
    mask = d2 < t
    if quota:
        mask[np.flatnonzero(d2 == t)[:quota]] = True
    return mask


def _selected_moments(block: Any, scorer: Scorer, t: float, quota: int, nan_policy: str,
                      offset: int | None) -> Any:
    A, dropped = _rows_dropped(block, nan_policy, offset)
    n_input = A.shape[0] + (0 if dropped is None else dropped.size)
    return moments_of(A[_selection(scorer.sq(A), t, quota)], n_input, dropped)


def _support_rows(A: np.ndarray, scorer: Scorer, t: float, quota: int) -> np.ndarray:
    return _selection(scorer.sq(A), t, quota)


def _d2_rows(A: np.ndarray, scorer: Scorer) -> np.ndarray:
    return scorer.sq(A)


def _weight_rows(A: np.ndarray, scorer: Scorer, q: float) -> np.ndarray:
    return scorer.sq(A) < q


# ---------------------------------------------------------------------------- passes
class _Passes:
    """The distributed passes over one prepared collection (counts them)."""

    def __init__(self, prep: Prepared, nan_policy: str) -> None:
        self.dask = require_dask()
        self.prep = prep
        self.blocks = prep.blocks()
        self.offsets = prep.offsets or [None] * len(self.blocks)  # type: ignore[list-item]
        self.nan_policy = nan_policy
        self.count = 0

    def map(self, fn: Any, *args: Any) -> list[Any]:
        task = self.dask.delayed(fn, pure=True)
        per = [a.values if isinstance(a, PerBlock) else None for a in args]
        return [task(b, *[a if v is None else v[i] for a, v in zip(args, per)],
                     self.nan_policy, off)
                for i, (b, off) in enumerate(zip(self.blocks, self.offsets))]

    def sizes(self) -> list[int]:
        if self.prep.offsets is not None:
            return [int(c) for c in self.prep.obj.chunks[0]]
        self.count += 1
        task = self.dask.delayed(len, pure=True)
        return [int(s) for s in self.dask.compute(*[task(b) for b in self.blocks])]

    def sample(self, idx: np.ndarray, sizes: list[int]) -> np.ndarray:
        """Rows ``idx`` (sorted global positions) as one float array on the client."""
        self.count += 1
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        task = self.dask.delayed(_take, pure=True)
        parts = []
        for i, b in enumerate(self.blocks):
            lo, hi = np.searchsorted(idx, [bounds[i], bounds[i + 1]])
            if hi > lo:
                parts.append(task(b, idx[lo:hi] - bounds[i]))
        return np.concatenate(self.dask.compute(*parts), axis=0)

    def kth(self, sc: Any, k: int, d2_sample: np.ndarray, n_guess: int
            ) -> tuple[int, float, list[int]]:
        """(finite rows, the k-th smallest D^2 t, per-block quotas of ties at t)."""
        m = d2_sample.size
        q = min(max(k / max(n_guess, 1), 0.0), 1.0)
        width = _BRACKET_SD * np.sqrt(max(m * q * (1 - q), 1.0)) + 2.0
        while True:
            r_lo, r_hi = int(np.floor(q * m - width)), int(np.ceil(q * m + width))
            lo = d2_sample[r_lo] if r_lo >= 0 else -np.inf
            hi = d2_sample[r_hi] if r_hi < m else np.inf
            self.count += 1
            res = self.dask.compute(*self.map(_bracket, sc, lo, hi))
            n_used = sum(r[0] for r in res)
            below = sum(r[1] for r in res)
            inside = sum(r[2].size for r in res)
            if below < k <= below + inside:
                break
            if lo == -np.inf and hi == np.inf:  # pragma: no cover - k > number of rows
                raise ValueError(f"X has {n_used} usable rows, fewer than h = {k}.")
            width *= 4.0
        vals = np.concatenate([r[2] for r in res])
        t = float(np.partition(vals, k - below - 1)[k - below - 1])
        below_t = [r[1] + int(np.count_nonzero(r[2] < t)) for r in res]
        need = k - sum(below_t)
        quotas = []
        for r in res:
            take = min(need, int(np.count_nonzero(r[2] == t)))
            quotas.append(take)
            need -= take
        return n_used, t, quotas

    def moments(self, sc: Any, t: float, quotas: list[int] | None) -> Any:
        self.count += 1
        qs = PerBlock(quotas if quotas is not None else [0] * len(self.blocks))
        return tree_merge(self.map(_selected_moments, sc, t, qs)).compute()


# ---------------------------------------------------------------------------- the fit
@renamed_parameters(alpha="support_fraction")
def mcd_dask(X: Any, *, support_fraction: float = 0.5, n_starts: int = 500,
             deterministic: bool = False, reweight: bool = True, correction: bool = True,
             random_state: Any = None, nan_policy: str = "raise", sample_size: int = SAMPLE_SIZE,
             max_csteps: int = 200, tol: float = 1e-12) -> MCDDaskResult:
    """MCD of a dask Array or DataFrame (see the module notes); options as
    :func:`mahalanobis.covariance.mcd`, plus ``sample_size`` (rows of the in-memory subset
    search, seeded by ``random_state``), ``max_csteps`` (full-data C-steps at most; each
    costs two passes) and ``tol`` (stop when log det decreases by less than ``tol`` times
    max(1, |log det|); the default stops only when the subset repeats, to rounding)."""
    return fit_mcd(prepare(X, "X"), support_fraction=support_fraction, n_starts=n_starts,
                   deterministic=deterministic, reweight=reweight, correction=correction,
                   random_state=random_state, nan_policy=nan_policy, sample_size=sample_size,
                   max_csteps=max_csteps, tol=tol)[0]


def fit_mcd(prep: Prepared, *, support_fraction: float = 0.5, n_starts: int = 500,
            deterministic: bool = False, reweight: bool = True, correction: bool = True,
            random_state: Any = None, nan_policy: str = "raise",
            sample_size: int = SAMPLE_SIZE, max_csteps: int = 200, tol: float = 1e-12
            ) -> tuple[MCDDaskResult, tuple[int, ...]]:
    """The distributed MCD of checked input, with the block sizes (rows per block)."""
    support_fraction, n_starts = _check_args(support_fraction, n_starts, nan_policy)
    if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)):
        raise ValueError(f"sample_size must be an integer; got {sample_size!r}.")
    p = prep.n_features
    if sample_size < 2 * (p + 1):
        raise ValueError(f"sample_size must be at least 2 (p + 1) = {2 * (p + 1)} rows for "
                         f"{p} features; got {sample_size}.")
    passes = _Passes(prep, nan_policy)
    sizes = passes.sizes()
    n_total = int(sum(sizes))
    if n_total <= p + 1:
        raise SingularCovarianceError(
            f"X has {n_total} rows for {p} features: the MCD needs n_samples > n_features + 1.",
            rank=max(min(n_total - 1, p), 0))
    # 1. the subset search on a sample, in memory
    if n_total <= sample_size:
        idx, sample_rs = np.arange(n_total), random_state
    else:
        rng = check_random_state(random_state)
        idx = np.sort(rng.choice(n_total, size=sample_size, replace=False))
        sample_rs = rng
    A_s = passes.sample(idx, sizes)
    ok = finite_rows(A_s)
    if not ok.all():
        if nan_policy == "raise":
            raise ValueError(
                f"X has NaN or infinite values (rows {idx[~ok][:5].tolist()}); pass "
                "nan_policy='omit' to drop those rows, or fill them first.")
        A_s = A_s[ok]
    r_s = mcd(A_s, support_fraction=support_fraction, n_starts=n_starts,
              deterministic=deterministic, reweight=False, correction=correction,
              random_state=sample_rs)
    start_center, start_cov = _mean_cov(A_s[np.asarray(r_s.support)])
    # 2. C-steps on the full data
    h = h_alpha_n(support_fraction, n_total, p)  # refined once the number of finite rows is known
    n_used = None
    center, S = start_center, start_cov
    log_det = np.inf
    t, quotas, sel_scorer = np.inf, None, None
    n_csteps = 0
    classical = False
    for _ in range(max_csteps):
        metric = _metric(center, S, "the current MCD estimate")
        sc = scorer_of(metric)
        d2_s = np.sort(Scorer(metric).sq(A_s))
        if n_used is None:
            n_used, t_new, q_new = passes.kth(sc, h, d2_s, n_total)
            h = h_alpha_n(support_fraction, n_used, p)
            if n_used <= p + 1:
                raise SingularCovarianceError(
                    f"X has {n_used} usable rows for {p} features: the MCD needs "
                    "n_samples > n_features + 1.", rank=max(min(n_used - 1, p), 0))
            if h == n_used:
                classical = True
                break
            if h != _h_guess(support_fraction, n_total, p):
                _, t_new, q_new = passes.kth(sc, h, d2_s, n_used)
        else:
            _, t_new, q_new = passes.kth(sc, h, d2_s, n_used)
        mom = passes.moments(sc, t_new, q_new)
        S_new = mom.M2 / (h - 1)
        ld_new = _linalg.log_det_from_cholesky(_metric(mom.mean, S_new, "the MCD subset "
                                                       "covariance").cholesky)
        n_csteps += 1
        if ld_new <= log_det:
            done = np.isfinite(log_det) and log_det - ld_new <= tol * max(1.0, abs(log_det))
            center, S, log_det = mom.mean, S_new, ld_new
            t, quotas, sel_scorer = t_new, q_new, sc
            if done:
                break
        else:
            break
    assert n_used is not None
    if classical:
        mom = passes.moments(scorer_of(_metric(center, S, "the start")), np.inf, None)
        center, S = mom.mean, mom.M2 / (n_used - 1)
        log_det = _metric(center, S, "the covariance").log_det
        c_raw = s_raw = 1.0
    else:
        c_raw = mcd_consistency(p, h / n_used)
        s_raw = mcd_small_sample(p, n_used, support_fraction) if correction else 1.0
    S_raw = S
    if p == 1 and not classical:
        S_raw = S * (h - 1) / h  # robustbase: divisor h for p = 1
    raw_cov = S_raw * (c_raw * s_raw)
    raw_metric = _metric(center, raw_cov, "the raw MCD covariance")
    # 3. reweighting
    qw = float(stats.chi2.ppf(REWEIGHT_QUANTILE, p))
    raw_sc = scorer_of(raw_metric)
    mom_w = passes.moments(raw_sc, qw, None)
    n_w = mom_w.n
    c_rew = s_rew = 1.0
    fin_center, fin_cov = center, raw_cov
    if reweight:
        if n_w < p + 1:  # pragma: no cover - needs pathological data
            raise SingularCovarianceError(
                f"X: only {n_w} rows keep weight 1 after reweighting, fewer than p + 1.")
        fin_center, fin_cov = mom_w.mean, mom_w.M2 / (n_w - 1)
        if n_w != n_used:
            c_rew = mcd_consistency(p, REWEIGHT_QUANTILE)
            s_rew = (mcd_small_sample(p, n_used, support_fraction, reweighted=True)
                     if correction and not classical else 1.0)
            fin_cov = fin_cov * (c_rew * s_rew)
    L = _linalg.cholesky((fin_cov + fin_cov.T) / 2, "reweighted MCD covariance")
    if classical:
        support = map_rows(prep, _weight_rows, raw_sc, np.inf, dtype=bool, name="support",
                           nan_policy=_lazy_policy(nan_policy))
    else:
        support = map_rows(prep, _support_rows, sel_scorer, t, PerBlock(quotas), dtype=bool,
                           name="support", nan_policy=_lazy_policy(nan_policy))
    res = MCDDaskResult._build(
        fin_center, cov=(fin_cov + fin_cov.T) / 2, L=L, method="mcd", n_samples=n_used,
        feature_names=prep.columns, raw_center=np.asarray(center), raw_cov=raw_cov,
        h=int(n_used if classical else h), support=support,
        weights=map_rows(prep, _weight_rows, raw_sc, qw, dtype=bool, name="weights",
                         nan_policy=_lazy_policy(nan_policy)),
        raw_distances=map_rows(prep, _d2_rows, raw_sc, dtype=float, name="d2",
                               nan_policy=_lazy_policy(nan_policy)),
        log_det_raw=float(log_det), consistency_raw=float(c_raw), small_sample_raw=float(s_raw),
        consistency_rew=float(c_rew), small_sample_rew=float(s_rew), n_csteps=int(n_csteps),
        best_starts=(), support_fraction=float(support_fraction),
        algorithm="classical" if classical else f"{r_s.algorithm} on a sample + C-steps",
        reweighted=bool(reweight), sample_size=int(A_s.shape[0]), start_center=start_center,
        start_cov=start_cov, n_passes=passes.count, n_weights=int(n_w), omitted=mom_w.dropped)
    return res, tuple(sizes)


def _h_guess(support_fraction: float, n: int, p: int) -> int:
    return h_alpha_n(support_fraction, n, p)


def _lazy_policy(nan_policy: str) -> str:
    return "omit" if nan_policy == "omit" else "raise"
