"""The per-pattern kernel for data with missing cells (NaN), shared by EM
(:func:`mahalanobis.covariance.em`), the marginal distances of
:meth:`mahalanobis.Metric.distance` (``nan_policy="marginal"``), :meth:`Metric.impute` and the
MCD with missing cells.

Everything is written with the precision matrix P = S^-1 partitioned by each row's observed (o)
and missing (m) coordinates. For a centred row x with its missing cells set to 0 (x~) and
z = P x~:

* marginal D^2 on the observed coordinates: x_o^T (S_oo)^-1 x_o = x~^T P x~ - z_m^T C z_m,
  with C = (P_mm)^-1 (the Schur complement identity (S_oo)^-1 = P_oo - P_om (P_mm)^-1 P_mo);
* conditional mean of the missing cells (the E-step, regression on the observed ones):
  E[x_m | x_o] = m_m - C z_m;
* conditional covariance: Cov[x_m | x_o] = C;
* log det S_oo = log det S - log det C.

C depends only on the pattern, so it is inverted once per distinct pattern (batched over the
patterns with the same number of missing cells), and each row then needs one k-vector z_m
(k = its number of missing cells) and one k x k product: no per-pattern Python loop, so tens of
thousands of patterns (1e6 x 20 with 10 % of cells missing has about 20 000) cost no more than a
few. The complete rows go through the fused distance kernel unchanged.

With the compiled kernels, :func:`marginal_kernel` does the same per row in one pass (no
grouping): the centred rows with zeros at the missing cells go through the distance kernel,
then each incomplete row takes the cheaper of the identity above (k <= p - k, a k x k
Cholesky of P_mm) and a Cholesky of S_oo (k > p - k), reusing the factor while consecutive rows
share a pattern (see ``mh_marginal`` in ``_ckernels.c``).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _kernels, _linalg

__all__ = ["MissingRows", "MissingSummary", "check_no_inf", "check_pairs_observed", "conditional",
           "marginal_kernel", "marginal_sq", "missing_rows", "observed_loglik", "precision_of",
           "summary"]

#: rows per block of :func:`marginal_sq` (bounds its temporaries: a few n_block x p arrays)
_BLOCK = 1 << 16
_LOG_2PI = float(np.log(2 * np.pi))
#: up to this many missing cells the per-pattern factors are computed by vector operations
_SMALL_K = 12


@dataclass(frozen=True)
class _Group:
    """The incomplete rows with k missing cells: their positions among ``MissingRows.part``
    (``loc``), the missing columns of each (sorted, shape (n_k, k)), and the index of each
    row's pattern among ``patterns`` (the distinct (k,)-vectors of missing columns)."""

    k: int
    loc: np.ndarray
    cols: np.ndarray
    patterns: np.ndarray
    which: np.ndarray
    #: loc * p + cols: the missing cells as flat positions in the array of incomplete rows
    flat: np.ndarray


@dataclass(frozen=True)
class MissingRows:
    """Where the NaN cells of an n x p array are, grouped for the kernel.

    ``n_observed`` is each row's number of observed coordinates; ``complete`` the mask of rows
    with none missing; ``part`` the positions of the rows with 1 <= k < p missing cells and
    ``groups`` those rows by k; ``empty`` the positions of rows with nothing observed.
    """

    n: int
    p: int
    n_observed: np.ndarray
    complete: np.ndarray
    part: np.ndarray
    groups: tuple[_Group, ...]
    empty: np.ndarray
    n_patterns: int


def _pattern_keys(miss: np.ndarray) -> np.ndarray:
    """One integer (or, for p > 64, one byte string) per row identifying its pattern."""
    packed = np.packbits(miss, axis=1, bitorder="little")
    width = packed.shape[1]
    if width <= 8:
        buf = np.zeros((packed.shape[0], 8), dtype=np.uint8)
        buf[:, :width] = packed
        return buf.view(np.uint64).reshape(-1)
    packed = np.ascontiguousarray(packed)
    return packed.view(np.dtype((np.void, width))).reshape(-1)


def check_no_inf(A: np.ndarray, name: str = "X") -> None:
    """A ValueError naming the first infinite cell (infinite is not missing)."""
    if np.isinf(A).any():
        r, c = np.argwhere(np.isinf(A))[0]
        raise ValueError(f"{name} has an infinite value at row {r}, column {c}; infinite cells "
                         "are not missing values. Replace them by NaN (missing) or by a number.")


def missing_rows(A: np.ndarray, name: str = "X") -> MissingRows:
    """Group the rows of ``A`` by their missing cells (NaN); infinite values are an error."""
    miss = np.isnan(A)
    n, p = A.shape
    k_row = np.count_nonzero(miss, axis=1)
    check_no_inf(A, name)
    complete = k_row == 0
    part = np.flatnonzero(~complete & (k_row < p))
    empty = np.flatnonzero(k_row == p)
    groups = []
    n_patterns = int(complete.any()) + int(empty.size > 0)
    if part.size:
        mp = miss[part]
        _, first, inv = np.unique(_pattern_keys(mp), return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        n_patterns += first.size
        kp = k_row[part]
        k_pat = kp[first]
        order = np.argsort(kp.astype(np.int16), kind="stable")
        bounds = np.flatnonzero(np.diff(kp[order])) + 1
        for loc in np.split(order, bounds):
            k = int(kp[loc[0]])
            pats = np.flatnonzero(k_pat == k)  # the group's patterns, as global ids
            local = np.empty(first.size, dtype=np.intp)
            local[pats] = np.arange(pats.size)
            patterns = np.nonzero(mp[first[pats]])[1].reshape(pats.size, k)
            which = local[inv[loc]]
            cols = patterns[which]
            groups.append(_Group(k, loc, cols, patterns, which,
                                 (loc[:, None] * p + cols).reshape(-1)))
    return MissingRows(n=n, p=p, n_observed=p - k_row, complete=complete, part=part,
                       groups=tuple(groups), empty=empty, n_patterns=n_patterns)


def check_pairs_observed(A: np.ndarray, columns: Any = None, name: str = "X") -> np.ndarray:
    """The p x p counts of rows observing each pair of columns; a ValueError naming the column
    never observed, or the pair never observed together (their covariance is not identified by
    the data: no estimator can recover it)."""
    obs = (~np.isnan(A)).astype(float)
    counts = obs.T @ obs
    label = (lambda j: repr(str(columns[j]))) if columns is not None else (lambda j: f"{j}")
    diag = np.diagonal(counts)
    never = np.flatnonzero(diag == 0)
    if never.size:
        raise ValueError(
            f"{name}: column {label(int(never[0]))} is never observed (every cell is NaN), so its "
            "mean and variance cannot be estimated; drop that column.")
    one = np.flatnonzero(diag < 2)
    if one.size:
        raise ValueError(
            f"{name}: column {label(int(one[0]))} is observed in only one row, so its variance "
            "cannot be estimated; drop that column.")
    i, j = np.nonzero(np.triu(counts == 0, 1))
    if i.size:
        raise ValueError(
            f"{name}: columns {label(int(i[0]))} and {label(int(j[0]))} are never observed "
            f"together ({i.size} such pair(s)), so their covariance is not identified by the "
            "data; drop one of them, or collect rows observing both.")
    return counts


@dataclass(frozen=True)
class MissingSummary:
    """How much is missing: the share of cells, the rows with no missing cell, the distinct
    patterns and the count of missing cells per column."""

    missing_fraction: float
    n_complete: int
    n_patterns: int
    missing_per_column: np.ndarray


def summary(rows: MissingRows) -> MissingSummary:
    per_col = np.zeros(rows.p, dtype=np.intp)
    for g in rows.groups:
        per_col += np.bincount(g.cols.reshape(-1), minlength=rows.p)
    per_col += rows.empty.size
    total = int(rows.n * rows.p - rows.n_observed.sum())
    return MissingSummary(missing_fraction=total / max(rows.n * rows.p, 1),
                          n_complete=int(rows.complete.sum()), n_patterns=rows.n_patterns,
                          missing_per_column=per_col)


def precision_of(W: np.ndarray) -> np.ndarray:
    """P = W^T W, symmetrised."""
    P = W.T @ W
    return (P + P.T) / 2


def _pattern_inverses(P: np.ndarray, g: _Group) -> tuple[np.ndarray, np.ndarray]:
    """C = (P_mm)^-1 for every pattern of the group, and log det C."""
    idx = g.patterns
    Pmm = P[idx[:, :, None], idx[:, None, :]]
    if g.k == 1:
        return 1.0 / Pmm, -np.log(Pmm[:, 0, 0])
    if g.k > _SMALL_K:
        Lc = np.linalg.cholesky(Pmm)  # P is positive definite, so is every principal block
        Linv = np.linalg.solve(Lc, np.broadcast_to(np.eye(g.k), Pmm.shape))
    else:
        Lc, Linv = _small_cholesky_inverse(Pmm)
    C = np.einsum("uji,ujk->uik", Linv, Linv)  # (L L^T)^-1 = L^-T L^-1
    logdet = -2.0 * np.log(np.diagonal(Lc, axis1=1, axis2=2)).sum(axis=1)
    return C, logdet


def _small_cholesky_inverse(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors L and their inverses for a stack of small SPD matrices (u, k, k),
    column by column with vector operations over the stack: O(k) NumPy calls instead of one
    LAPACK call per matrix (thousands of patterns with 3-6 missing cells cost microseconds
    each that way)."""
    k = M.shape[1]
    L = np.zeros_like(M)
    for j in range(k):
        Lj = L[:, j, :j]
        d2 = M[:, j, j] - np.einsum("ui,ui->u", Lj, Lj)
        if not (d2 > 0).all():
            raise np.linalg.LinAlgError("a block of the precision is not positive definite")
        d = np.sqrt(d2)
        L[:, j, j] = d
        if j + 1 < k:
            L[:, j + 1:, j] = (M[:, j + 1:, j]
                               - np.einsum("uik,uk->ui", L[:, j + 1:, :j], Lj)) / d[:, None]
    Linv = np.zeros_like(M)
    for i in range(k):
        row = -np.einsum("uj,ujk->uk", L[:, i, :i], Linv[:, :i, :])
        row[:, i] += 1.0
        Linv[:, i, :] = row / L[:, i, i][:, None]
    return L, Linv


def _times(C: np.ndarray, which: np.ndarray, z: np.ndarray) -> np.ndarray:
    """C[which[i]] @ z[i] for every row i."""
    if C.shape[1] == 1:
        return C[which, 0, :] * z
    return np.einsum("nij,nj->ni", C[which], z)


def _centred(A: np.ndarray, rows: MissingRows, center: np.ndarray, P: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The incomplete rows centred with their missing cells set to 0 (V), and Z = V P."""
    if rows.part.size == rows.n:  # every row incomplete (the EM's own sub-array)
        V = np.subtract(A, center)
    else:
        V = np.take(A, rows.part, axis=0)
        V -= center
    flat = V.reshape(-1)
    for g in rows.groups:
        flat[g.flat] = 0.0
    return V, V @ P


_P = ctypes.c_void_p
_I = ctypes.c_int64


def _kernel() -> Any:
    """The compiled ``mh_marginal`` (a ctypes function), or None (no build, or an old one)."""
    fn = getattr(_kernels.C, "mh_marginal", None) if _kernels.C is not None else None
    if fn is not None and fn.argtypes is None:
        fn.restype = _I
        fn.argtypes = [_P, _I, _I, _I, _I, _P, _P, _P, ctypes.c_int, _P, _P, _P, _P, _P, _I,
                       _P, _I, _P]
    return fn


def marginal_kernel(A: np.ndarray, center: np.ndarray, W: np.ndarray, lower: bool, *,
                    impute: bool = False, name: str = "X"
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """(D^2 on the observed coordinates, observed counts, imputed rows or None) of every row
    of ``A`` by the compiled kernel, in one pass split over worker threads; None when the
    kernel is not built or a pattern's block would not factor (then the grouped code path
    answers). ``W`` is the metric's triangular whitening matrix (W^T W = S^-1). Rows with
    nothing observed get NaN (and the centre)."""
    fn = _kernel()
    if fn is None:
        return None
    n, p = A.shape
    X = _kernels.as_kernel_input(A)
    rs, cs = _kernels.strides(X)
    c = np.ascontiguousarray(center, dtype=float)
    Wc = np.ascontiguousarray(np.tril(W) if lower else np.triu(W), dtype=float)
    direct = p <= _linalg.DIRECT_MAX_DISTANCE
    Wf = Wc if direct else np.asfortranarray(Wc)
    P = np.ascontiguousarray(precision_of(Wc))
    T = _linalg.inverse_triangular(Wc, lower=lower)
    S = T @ T.T
    S = np.ascontiguousarray((S + S.T) / 2)
    rows = 256 if direct else max(16, _linalg.KERNEL_CHUNK_BYTES // (8 * p))
    trmm = None if direct else _kernels.blas_address("dtrmm")
    d2 = np.empty(n)
    nobs = np.empty(n, dtype=np.int64)
    X_hat = np.empty((n, p)) if impute else None

    def work(lo: int, hi: int) -> tuple[int, int]:
        fail = np.zeros(1, dtype=np.int64)
        ninf = fn(X.ctypes.data + 8 * lo * rs, hi - lo, p, rs, cs, c.ctypes.data,
                  Wc.ctypes.data, Wf.ctypes.data, int(lower), P.ctypes.data, S.ctypes.data,
                  d2.ctypes.data + 8 * lo, nobs.ctypes.data + 8 * lo,
                  None if X_hat is None else X_hat.ctypes.data + 8 * lo * p, rows, trmm,
                  _linalg.DIRECT_MAX_DISTANCE, fail.ctypes.data)
        return int(ninf), int(fail[0])

    res = _kernels.run_parallel(work, n, n * p >= _linalg.PARALLEL_MIN_ELEMENTS,
                                uses_blas=not direct)
    if sum(r[0] for r in res):
        check_no_inf(A, name)
    if any(r[1] != 0 for r in res):
        return None
    return d2, nobs, X_hat


def marginal_sq(A: np.ndarray, rows: MissingRows | None, center: np.ndarray, W: np.ndarray,
                lower: bool, sq_complete: Any) -> np.ndarray:
    """D^2 of each row on its observed coordinates (NaN for rows with none observed).

    ``W`` is the metric's triangular whitening matrix (W^T W = S^-1); ``sq_complete(B)`` gives
    the squared distances of complete rows (the metric's own fused kernel, so complete rows
    get exactly the numbers of ``nan_policy="raise"``). ``rows=None`` groups the rows here,
    block by block (bounded memory)."""
    P = precision_of(W)
    with _linalg.single_threaded_blas():  # small products: threads only contend
        if rows is not None:
            return _marginal(A, rows, center, P, sq_complete)
        out = np.empty(A.shape[0])
        for s in range(0, A.shape[0], _BLOCK):
            B = A[s:s + _BLOCK]
            out[s:s + _BLOCK] = _marginal(B, missing_rows(B), center, P, sq_complete)
        return out


def _marginal(A: np.ndarray, rows: MissingRows, center: np.ndarray, P: np.ndarray,
              sq_complete: Any) -> np.ndarray:
    if rows.complete.all():
        return sq_complete(A)
    d2 = np.empty(rows.n)
    if rows.complete.any():
        d2[rows.complete] = sq_complete(A[rows.complete])
    d2[rows.empty] = np.nan
    if not rows.part.size:
        return d2
    V, Z = _centred(A, rows, center, P)
    q = np.einsum("ij,ij->i", V, Z)
    for g in rows.groups:
        C, _ = _pattern_inverses(P, g)
        z = Z.reshape(-1)[g.flat].reshape(-1, g.k)
        q[g.loc] -= np.einsum("ni,ni->n", z, _times(C, g.which, z))
    d2[rows.part] = np.maximum(q, 0.0)
    return d2


def conditional(A: np.ndarray, rows: MissingRows, center: np.ndarray, P: np.ndarray,
                *, want_cov_sum: bool = False, want_cov_rows: bool = False,
                L: np.ndarray | None = None) -> dict[str, Any]:
    """The E-step: ``X_hat`` (A with each missing cell replaced by its conditional mean given
    the row's observed cells), and on request ``cov_sum`` (the p x p sum over rows of the
    conditional covariances, zero outside each row's missing block), ``cov_rows`` (n x p x p,
    the conditional covariance of each row) and, given the Cholesky factor ``L`` of S = P^-1,
    ``loglik`` (the per-row observed-data log-likelihood, computed in the same pass). Rows with
    nothing observed get the centre and the full covariance P^-1 (and log-likelihood 0)."""
    X_hat = np.array(A, dtype=float, order="C")
    p = rows.p
    out: dict[str, Any] = {}
    cov_sum = np.zeros((p, p)) if want_cov_sum else None
    cov_rows = np.zeros((rows.n, p, p)) if want_cov_rows else None
    ll = None
    if L is not None:
        W = _linalg.inverse_triangular(L, lower=True)
        log_det = _linalg.log_det_from_cholesky(L)
        ll = np.zeros(rows.n)
        comp = rows.complete
        if comp.any():
            d2 = _linalg.sq_distances(A if comp.all() else A[comp], center, W, True)[0]
            ll[comp] = -0.5 * (p * _LOG_2PI + log_det + d2)
    if rows.part.size:
        all_part = rows.part.size == rows.n
        V, Z = _centred(A, rows, center, P)
        q = np.einsum("ij,ij->i", V, Z) if ll is not None else None
        for g in rows.groups:
            C, logdet_C = _pattern_inverses(P, g)
            r = rows.part[g.loc]
            z = Z.reshape(-1)[g.flat].reshape(-1, g.k)
            Cz = _times(C, g.which, z)
            cells = g.flat if all_part else (r[:, None] * p + g.cols).reshape(-1)
            X_hat.reshape(-1)[cells] = (center[g.cols] - Cz).reshape(-1)
            if cov_rows is not None:
                cov_rows[r[:, None, None], g.cols[:, :, None], g.cols[:, None, :]] = C[g.which]
            if q is not None and ll is not None:
                d2 = np.maximum(q[g.loc] - np.einsum("ni,ni->n", z, Cz), 0.0)
                ll[r] = -0.5 * ((p - g.k) * _LOG_2PI + log_det - logdet_C[g.which] + d2)
            if cov_sum is not None:
                counts = np.bincount(g.which, minlength=g.patterns.shape[0]).astype(float)
                idx = g.patterns
                flat = (idx[:, :, None] * p + idx[:, None, :]).reshape(-1)
                cov_sum += np.bincount(flat, weights=(C * counts[:, None, None]).reshape(-1),
                                       minlength=p * p).reshape(p, p)
    if rows.empty.size:
        S = np.linalg.inv(P)
        S = (S + S.T) / 2
        X_hat[rows.empty] = center
        if cov_sum is not None:
            cov_sum += rows.empty.size * S
        if cov_rows is not None:
            cov_rows[rows.empty] = S
    out["X_hat"] = X_hat
    if cov_sum is not None:
        out["cov_sum"] = cov_sum
    if cov_rows is not None:
        out["cov_rows"] = cov_rows
    if ll is not None:
        out["loglik"] = ll
    return out


def observed_loglik(A: np.ndarray, rows: MissingRows, center: np.ndarray,
                    L: np.ndarray) -> np.ndarray:
    """Per-row observed-data normal log-likelihood log phi(x_i,o; m_o, S_oo) with S = L L^T
    (0 for rows with nothing observed)."""
    W = _linalg.inverse_triangular(L, lower=True)
    return conditional(A, rows, center, precision_of(W), L=L)["loglik"]
