"""FastMCD kernels: concentration steps (C-steps) for many candidate subsets at once.

Rousseeuw & Van Driessen (1999), "A fast algorithm for the minimum covariance determinant
estimator", Technometrics 41:212-223. Theorem 1 (the C-step): if H_new holds the h points with
the smallest Mahalanobis distances w.r.t. the mean and covariance of H_old, then
det S(H_new) <= det S(H_old). FastMCD draws many random (p+1)-subsets, applies two C-steps to
each, iterates the best ten to convergence, and for n >= 600 works first on up to five disjoint
random subgroups of 300 points, then on their union (at most 1500), then on the full data
(Sect. 3.3, "nested extensions"). Here, for 600 <= n <= 5000 all fifty candidates of the union
get a C-step on the full data and the best twenty are iterated to convergence (robustbase:
its ten best); above 5000 rows the best one (as robustbase, but to convergence).

Full-data C-steps at many rows take one candidate at a time: distances by the compiled fused
kernel, the h-th smallest by a sampled bracket, the h-subset's mean and co-moments gathered
block by block into a reused buffer (extra memory: a distance vector and the subset's indices).

All candidates of a stage are processed together: stacked Cholesky factors
(``np.linalg.cholesky`` on a (S, p, p) array), distances by batched matrix products, the h
smallest by ``np.argpartition``. Only numpy's BLAS is used in these loops (see DESIGN.md on
alternating numpy's and scipy's OpenBLAS).
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np

from .. import _kernels, _linalg
from ._mcd_init import SingularSubset

__all__ = ["fast_mcd"]

#: Relative residual variance L_kk^2 / C_kk below which a subset covariance counts as singular
#: (1 - R^2 of column k on the previous ones; scale invariant).
_SINGULAR_TOL = 1e-12
#: Elements of the largest temporary (S x rows x p) the batched kernels create.
_BATCH_ELEMS = 1 << 19

N_MINI = 300
K_MINI = 5
N_BEST = 10
#: For 600 <= n <= 5000: candidates carried from the merged set to the full data (all of
#: them) and candidates iterated there to convergence after one C-step (robustbase: its ten
#: best of the merged set).
N_MERGED = K_MINI * N_BEST
N_FULL = 2 * N_BEST
#: Above this many rows only the best candidate is iterated on the full data (as robustbase).
FULL_ALL_MAX_N = 5000
MAX_CSTEPS = 200
#: For n < 600, candidates carried to convergence: max(10, SMALL_BUDGET // (n p)).
SMALL_BUDGET = 5_000_000


class _Batch:
    """S candidate estimates: means (S, p), lower Cholesky factors (S, p, p) of the subset
    covariances (divisor size - 1), their log-determinants (S,), and the subsets (S, size)."""

    def __init__(self, idx: np.ndarray, mu: np.ndarray, L: np.ndarray, logdet: np.ndarray):
        self.idx, self.mu, self.L, self.logdet = idx, mu, L, logdet

    def take(self, sel: np.ndarray) -> _Batch:
        return _Batch(self.idx[sel], self.mu[sel], self.L[sel], self.logdet[sel])


def _moments(Y: np.ndarray, idx: np.ndarray, shift: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances (divisor k - 1) of the S subsets Y[idx[s]], idx of shape (S, k);
    ``shift`` (S, p): points near the means (for the one-pass co-moments of large subsets)."""
    S, k = idx.shape
    p = Y.shape[1]
    mu = np.empty((S, p))
    C = np.empty((S, p, p))
    if k * p >= 20_000:   # large subsets: gathered and multiplied in bounded chunks
        for s in range(S):
            mu[s], C[s] = _subset_moments(Y, idx[s], None if shift is None else shift[s])
        C /= k - 1
        return mu, C
    step = max(1, _BATCH_ELEMS // max(1, k * p))
    for s in range(0, S, step):
        sub = Y[idx[s:s + step]]                      # (b, k, p)
        m = sub.mean(axis=1)
        sub -= m[:, None, :]
        mu[s:s + step] = m
        C[s:s + step] = np.matmul(sub.transpose(0, 2, 1), sub) / (k - 1)
    return mu, C


_GATHER_ROWS = 1 << 13


def _subset_moments(Y: np.ndarray, rows: np.ndarray, shift: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and co-moments of Y[rows] in one pass, gathering at most 8192 rows at a time into
    a reused buffer, on two threads for large subsets.

    The co-moments are accumulated about ``shift`` (default: the mean of the first rows) and
    corrected exactly at the end, M = sum (y - c)(y - c)^T - s s^T / k with s = sum (y - c);
    with c near the mean (the C-steps pass the previous centre) no precision is lost."""
    k, p = rows.size, Y.shape[1]
    c = (np.asarray(Y[rows[: min(k, 64)]].mean(axis=0)) if shift is None
         else np.asarray(shift, dtype=float))
    nthreads = _kernels.N_THREADS if k >= 4 * _GATHER_ROWS else 1
    ranges = _kernels.split_rows(k, nthreads, _GATHER_ROWS)

    def work(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        buf = np.empty((min(_GATHER_ROWS, hi - lo), p))
        ones = np.ones(buf.shape[0])
        tot = np.zeros(p)
        M = np.zeros((p, p))
        for a in range(lo, hi, _GATHER_ROWS):
            r = rows[a:min(hi, a + _GATHER_ROWS)]
            B = np.take(Y, r, axis=0, out=buf[: r.size])
            B -= c
            tot += ones[: r.size] @ B     # a GEMV: 20x faster than B.sum(axis=0) for short rows
            M += B.T @ B
        return tot, M

    parts = _kernels.run_parallel(work, k, nthreads > 1, uses_blas=True, ranges=ranges)
    tot = sum(t for t, _ in parts)
    M = sum(m for _, m in parts)
    M -= np.outer(tot, tot) / k
    M = (M + M.T) / 2
    return c + tot / k, M


def _cholesky(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stacked lower Cholesky factors and a mask of the (numerically) singular matrices."""
    S, p, _ = C.shape
    try:
        L = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        L = np.zeros_like(C)
        for s in range(S):
            try:
                L[s] = np.linalg.cholesky(C[s])
            except np.linalg.LinAlgError:
                L[s] = np.eye(p) * np.nan
    d2 = np.diagonal(L, axis1=1, axis2=2) ** 2
    diag = np.diagonal(C, axis1=1, axis2=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = ~np.all(d2 > _SINGULAR_TOL * diag, axis=1)
    return L, bad


def _logdet(L: np.ndarray) -> np.ndarray:
    return 2.0 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)


def _sq_dists(Y: np.ndarray, mu: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Squared distances (S, m) of every row of Y (m, p) to each of the S estimates."""
    S, p = mu.shape
    m = Y.shape[0]
    eye = np.broadcast_to(np.eye(p), L.shape)
    # (L^-1)^T, made contiguous: numpy's matmul uses BLAS only for contiguous operands
    WT = np.ascontiguousarray(np.linalg.solve(L, eye).transpose(0, 2, 1))
    shift = np.matmul(mu[:, None, :], WT)               # (S, 1, p)
    out = np.empty((S, m))
    rows = max(1, _BATCH_ELEMS // max(1, S * p))
    if rows >= m:
        Z = np.matmul(Y, WT)                            # (S, m, p)
        Z -= shift
        np.einsum("smp,smp->sm", Z, Z, out=out)
        return out
    rows = max(1024, _BATCH_ELEMS // p)
    buf = np.empty((min(rows, m), p))
    for s in range(S):
        for a in range(0, m, rows):
            b = min(m, a + rows)
            z = np.matmul(Y[a:b], WT[s], out=buf[: b - a])
            z -= shift[s]
            np.einsum("ij,ij->i", z, z, out=out[s, a:b])
    return out


def _fit(Y: np.ndarray, idx: np.ndarray, shift: np.ndarray | None = None
         ) -> tuple[_Batch, np.ndarray]:
    """Estimates of the subsets Y[idx] and a mask of the singular ones (log det = -inf)."""
    mu, C = _moments(Y, idx, shift)
    L, bad = _cholesky(C)
    if bad.any():
        L[bad] = np.eye(Y.shape[1])
    logdet = _logdet(L)
    logdet[bad] = -np.inf
    return _Batch(idx, mu, L, logdet), bad


def _concentrate(Y: np.ndarray, h: int, batch: _Batch, n_steps: int, on_singular: Any,
                 progress: Any = None) -> tuple[_Batch, np.ndarray]:
    """Up to n_steps C-steps on every candidate (stopping each when its subset repeats).
    Returns the new batch and the number of C-steps each candidate took.

    A candidate whose new h-subset is singular is passed to ``on_singular(rows)``, which
    raises when that is an exact fit of the full data; otherwise the candidate is dropped
    (objective +inf)."""
    S = batch.mu.shape[0]
    steps = np.zeros(S, dtype=int)
    active = np.ones(S, dtype=bool)
    # the subsets so far, sorted (a repeat stops a candidate); none yet when the start was
    # of another size
    fresh = batch.idx.shape[1] != h
    if not fresh:
        batch = _Batch(np.sort(batch.idx, axis=1), batch.mu, batch.L, batch.logdet)
    merged: list[tuple[int, int, int]] = []   # (kept, stopped, step offset), in order
    for _ in range(n_steps):
        act = np.flatnonzero(active)
        if act.size == 0:
            break
        new_idx = _select(Y, batch.mu[act], batch.L[act], h)
        new, bad = _fit(Y, new_idx, batch.mu[act])
        for s in np.flatnonzero(bad):
            on_singular(new_idx[s])
        new.logdet[bad] = np.inf
        steps[act] += 1
        if fresh:  # first step from a start of another size: nothing to repeat
            idx_all = np.empty((S, h), dtype=new_idx.dtype)  # int32 below 2^31 rows
            batch = _Batch(idx_all, batch.mu.copy(), batch.L.copy(), batch.logdet.copy())
            same = bad.copy()
            fresh = False
        else:
            same = np.all(batch.idx[act] == new_idx, axis=1) | bad
        batch.idx[act], batch.mu[act], batch.L[act], batch.logdet[act] = (
            new_idx, new.mu, new.L, new.logdet)
        active[act[same]] = False
        # Candidates that reached the same subset have the same future: iterate only the
        # first; the others get its final state (and step count) at the end.
        if 1 < act.size <= 16:
            for a in range(act.size):
                for b in range(a + 1, act.size):
                    if active[act[a]] and active[act[b]] and np.array_equal(new_idx[a],
                                                                           new_idx[b]):
                        active[act[b]] = False
                        merged.append((int(act[a]), int(act[b]),
                                       int(steps[act[b]] - steps[act[a]])))
        if progress is not None:
            progress.update(1)
    for a, b, offset in reversed(merged):  # later merges first: chains resolve to the end
        batch.idx[b], batch.mu[b], batch.L[b], batch.logdet[b] = (
            batch.idx[a], batch.mu[a], batch.L[a], batch.logdet[a])
        steps[b] = steps[a] + offset
    return batch, steps


#: Above this many rows x candidates, or this many rows, C-steps select one candidate at a
#: time with the compiled distance kernel (bounded memory: one distance vector).
_SELECT_ONE_BY_ONE = 1 << 22
_SELECT_ONE_BY_ONE_ROWS = 20_000


def _select(Y: np.ndarray, mu: np.ndarray, L: np.ndarray, h: int) -> np.ndarray:
    """Sorted indices (S, h) of the h rows of Y closest to each of the S estimates.

    Small problems: all candidates' distances at once (batched products). Large ones (the
    full-data stages at many rows): one candidate at a time with the fused batch kernel, so
    the extra memory is one distance vector and the indices, not S x m arrays."""
    S, m = mu.shape[0], Y.shape[0]
    if S * m <= _SELECT_ONE_BY_ONE and m < _SELECT_ONE_BY_ONE_ROWS:
        return _h_smallest(_sq_dists(Y, mu, L), h)
    if h >= m:
        return np.broadcast_to(np.arange(m), (S, m)).copy()
    out = np.empty((S, h), dtype=np.intp if m >= 2**31 else np.int32)
    d2 = np.empty(m)
    for s in range(S):
        W = _linalg.inverse_triangular(L[s], lower=True)
        _linalg.sq_norms_of_whitened(Y, mu[s], W, True, out=d2)
        thr = _hth_smallest(d2, h)
        mask = d2 <= thr
        if np.count_nonzero(mask) == h:
            out[s] = np.flatnonzero(mask)
        else:  # ties at the threshold
            out[s] = np.sort(np.argpartition(d2, h - 1)[:h])
    return out


def _hth_smallest(d: np.ndarray, h: int) -> float:
    """The h-th smallest entry of d (1-d, h < d.size), exactly.

    Large d: a systematic sample of 4096 entries brackets the value (+- 5 binomial standard
    errors of the sample quantile); the entries inside the bracket (a few percent) are
    partitioned. Two passes over d instead of a partitioned copy of it (5x faster at a million
    rows); when the bracket misses, a plain partition."""
    m = d.size
    if m < 65_536:
        return float(np.partition(d, h - 1)[h - 1])
    sample = np.sort(d[:: m // 4096])
    k = sample.size
    q = h / m
    half = 5.0 * math.sqrt(q * (1.0 - q) / k) + 2.0 / k
    lo = sample[max(0, int((q - half) * k))]
    hi = sample[min(k - 1, math.ceil((q + half) * k))]
    below = int(np.count_nonzero(d < lo))
    inside = d[(d >= lo) & (d <= hi)]
    need = h - below
    if 1 <= need <= inside.size:
        return float(np.partition(inside, need - 1)[need - 1])
    return float(np.partition(d, h - 1)[h - 1])  # pragma: no cover - a missed bracket


def _h_smallest(d2: np.ndarray, h: int) -> np.ndarray:
    """Sorted indices (S, h) of the h smallest entries of each row of d2 (S, m).

    The h-th smallest value from ``np.partition`` gives a threshold; rows with exactly h
    entries at or below it (no ties at the threshold: the usual case) are read off a mask in
    index order, five times faster than ``argpartition`` and sorting; rows with ties fall back
    to ``argpartition``."""
    S, m = d2.shape
    if h >= m:
        return np.broadcast_to(np.arange(m), (S, m)).copy()
    # thresholds one row at a time: a partitioned copy of all of d2 would double the peak
    # memory of the full-data C-steps at a million rows
    thr = np.array([np.partition(row, h - 1)[h - 1] for row in d2])
    mask = d2 <= thr[:, None]
    out = np.empty((S, h), dtype=np.intp)
    counts = mask.sum(axis=1)
    for s in range(S):
        if counts[s] == h:
            out[s] = np.flatnonzero(mask[s])
        else:
            out[s] = np.sort(np.argpartition(d2[s], h - 1)[:h])
    return out


def _random_subsets(m: int, k: int, S: int, rng: np.random.Generator) -> np.ndarray:
    """S random k-subsets of range(m) (rows sorted), or all of them when there are <= S."""
    if math.comb(m, k) <= S:
        return np.array(list(combinations(range(m), k)), dtype=np.intp).reshape(-1, k)
    idx = np.sort(rng.integers(0, m, size=(S, k)), axis=1)
    dup = np.flatnonzero(np.any(idx[:, 1:] == idx[:, :-1], axis=1))
    for s in dup:
        idx[s] = np.sort(rng.choice(m, size=k, replace=False))
    return idx


def _start_batch(Y: np.ndarray, idx: np.ndarray, rng: np.random.Generator) -> _Batch:
    """Estimates from (p+1)-subsets; a singular subset is enlarged by random points until its
    covariance is regular (Rousseeuw & Van Driessen 1999, Sect. 3.1)."""
    mu, C = _moments(Y, idx)
    L, bad = _cholesky(C)
    m, _p = Y.shape
    for s in np.flatnonzero(bad):
        rows = list(idx[s])
        perm = rng.permutation(m)
        pos = 0
        while True:
            while pos < m and perm[pos] in rows:
                pos += 1
            if pos >= m:
                raise SingularSubset(np.array(rows))
            rows.append(int(perm[pos]))
            sub = Y[rows]
            mu_s = sub.mean(axis=0)
            c = (sub - mu_s).T @ (sub - mu_s) / (len(rows) - 1)
            Ls, b = _cholesky(c[None])
            if not b[0]:
                mu[s], L[s] = mu_s, Ls[0]
                break
    return _Batch(idx, mu, L, _logdet(L))


def _best_distinct(batch: _Batch, k: int) -> _Batch:
    """The k candidates with the smallest objective among distinct subsets."""
    order = np.argsort(batch.logdet, kind="stable")
    order = order[np.isfinite(batch.logdet[order])]
    seen: set[bytes] = set()
    keep = []
    for s in order:
        key = batch.idx[s].tobytes()
        if key in seen:
            continue
        seen.add(key)
        keep.append(s)
        if len(keep) == k:
            break
    return batch.take(np.array(keep, dtype=np.intp))


def fast_mcd(Z: np.ndarray, h: int, n_starts: int, rng: np.random.Generator,
             progress: Any = None) -> tuple[np.ndarray, float, int]:
    """FastMCD on standardised data Z (n, p): (sorted raw h-subset, log det of its
    covariance with divisor h - 1 in Z's units, C-steps of the winner in the last stage).

    Raises SingularSubset (with the rows on the hyperplane) when at least h points of Z lie on
    a hyperplane found along the way: an exact fit.
    """
    n, p = Z.shape

    def checker(rows_map: np.ndarray | None) -> Any:
        def check(rows: np.ndarray) -> None:
            _check_full(Z, h, rows if rows_map is None else rows_map[rows])
        return check

    if n >= 2 * N_MINI:
        n_groups = min(K_MINI, n // N_MINI)
        n_merged = min(n, K_MINI * N_MINI)
        perm = rng.permutation(n)[:n_merged]
        groups = np.array_split(perm, n_groups)
        per_group = max(1, n_starts // n_groups)
        cands = []
        for g in groups:
            Yg = Z[g]
            hg = math.ceil(g.size * h / n)
            start = _start_batch(Yg, _random_subsets(g.size, p + 1, per_group, rng), rng)
            b, _ = _concentrate(Yg, hg, start, 2, checker(g))
            cands.append(_best_distinct(b, N_BEST))
            if progress is not None:
                progress.update(1)
        merged = Z[perm]
        hm = math.ceil(n_merged * h / n)
        start = _restart(cands)
        b, _ = _concentrate(merged, hm, start, 2, checker(perm))
        b = _best_distinct(b, N_MERGED if n <= FULL_ALL_MAX_N else N_BEST)
        if progress is not None:
            progress.update(1)
        # Full data, n <= 5000: robustbase iterates its ten best candidates of the merged set
        # to convergence. We give all fifty merged candidates one C-step on the full data and
        # iterate the best twenty to convergence: over 100 seeds on radarImage and quakes the
        # median objective is then no worse than robustbase's, where carrying ten (or the
        # three of earlier versions) left it slightly above (tests/test_mcd.py,
        # tests/reference/fastmcd_seeds.R). n > 5000: one C-step for the ten best, then the best
        # one to convergence. robustbase's stage 3 also keeps only the best candidate there,
        # but takes fewer steps as n p grows (a single one above 1e6), stopping short of
        # convergence; iterating to convergence gives an objective no worse than robustbase's.
        if n <= FULL_ALL_MAX_N:
            b, _ = _concentrate(Z, h, _restart([b]), 1, checker(None), progress)
            b = _best_distinct(b, N_FULL)
        else:  # one candidate at a time: only the best subset so far is held
            start = _restart([b])
            best = None
            for s in range(start.mu.shape[0]):
                c, _ = _concentrate(Z, h, start.take(np.array([s])), 1, checker(None))
                if np.isfinite(c.logdet[0]) and (best is None or c.logdet[0] < best.logdet[0]):
                    best = c
            if progress is not None:
                progress.update(1)
            if best is None:  # pragma: no cover - every candidate was singular
                raise SingularSubset(np.arange(h))
            b = best
        final, steps = _concentrate(Z, h, b, MAX_CSTEPS, checker(None), progress)
        steps += 1
    else:
        start = _start_batch(Z, _random_subsets(n, p + 1, n_starts, rng), rng)
        b, _ = _concentrate(Z, h, start, 2, checker(None))
        # Small data: iterating many more than ten candidates to convergence is cheap and
        # finds the global optimum more often (a deviation from robustbase that can only
        # lower the objective).
        b = _best_distinct(b, max(N_BEST, SMALL_BUDGET // (n * p)))
        if progress is not None:
            progress.update(1)
        final, steps = _concentrate(Z, h, b, MAX_CSTEPS, checker(None), progress)
    win = int(np.argmin(final.logdet))
    if not np.isfinite(final.logdet[win]):  # pragma: no cover - every candidate was singular
        raise SingularSubset(final.idx[win])
    return np.sort(final.idx[win]), float(final.logdet[win]), int(steps[win])


def _restart(batches: list[_Batch]) -> _Batch:
    """Candidates carried to a larger data set: only their estimates, not their subsets."""
    mu = np.concatenate([b.mu for b in batches])
    L = np.concatenate([b.L for b in batches])
    keep = np.isfinite(np.concatenate([b.logdet for b in batches]))
    return _Batch(np.zeros((int(keep.sum()), 0), dtype=np.intp), mu[keep], L[keep],
                  np.zeros(int(keep.sum())))


def _check_full(Z: np.ndarray, h: int, rows: np.ndarray) -> None:
    """An h-subset was singular: raise SingularSubset with the points of Z on its hyperplane
    when there are at least h of them (an exact fit); otherwise return (candidate dropped)."""
    sub = Z[rows]
    m = sub.mean(axis=0)
    a = np.linalg.svd(sub - m, full_matrices=False)[2][-1]
    on = np.abs((Z - m) @ a) <= 1e-9 * max(float(np.max(np.abs(Z - m))), 1.0)
    if on.sum() >= h:
        raise SingularSubset(np.flatnonzero(on))
