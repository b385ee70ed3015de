"""Numerics kernels: Cholesky factors, triangular products, log-determinants, conditioning.

Nothing here forms an explicit inverse of a scatter matrix for a distance. A scatter S is
factored once, S = L L^T; squared distances are ||W (x - m)||^2 with W = L^-1 triangular,
applied chunk by chunk with the BLAS triangular multiply (``dtrmm``) into a reused buffer.

For scatter matrices whose correlation form is ill-conditioned (condition number above
``REFINE_CONDITION``), float64 Cholesky loses about ``cond * eps`` of relative accuracy in D^2
(about 1e-9 at cond 1e8). There one step of iterative refinement, with the residual
``v - S w`` accumulated in extended precision (``np.longdouble``), brings the error down to
about ``cond * 1e-19`` (see tests/reference/ILLCOND_NOTES.md).

This module imports nothing of the package except the error types.
"""

from __future__ import annotations

import ctypes
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import numpy as np
from scipy.linalg import blas, lapack

from .errors import IllConditionedWarning, SingularCovarianceError

__all__ = [
    "CHUNK_BYTES",
    "NEAR_PAIR_RTOL",
    "N_THREADS",
    "PARALLEL_MIN_ELEMENTS",
    "REFINE_CONDITION",
    "WARN_CONDITION",
    "cholesky",
    "chunk_rows",
    "comoments",
    "condition_number",
    "correlation_rcond",
    "inverse_triangular",
    "log_det_from_cholesky",
    "mean_and_cov",
    "pairwise_sq",
    "single_threaded_blas",
    "solve_triangular",
    "sq_norms_of_whitened",
    "whiten_rows",
]

#: Correlation-form condition number above which an IllConditionedWarning is issued.
WARN_CONDITION = 1e10
#: Correlation-form condition number above which distances use one refinement step.
REFINE_CONDITION = 1e5
#: Target size of one chunk buffer (rows x features x 8 bytes).
CHUNK_BYTES = 2 * 1024 * 1024

_ADVICE = ("use a regularised estimator (method='ledoit_wolf', 'oas' or 'mrcd'), drop "
           "collinear or constant columns, or add a ridge (cov + lam * I)")


def chunk_rows(n_features: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Rows per chunk so that one (rows, n_features) float64 buffer is about chunk_bytes."""
    return int(min(65536, max(256, chunk_bytes // (8 * max(n_features, 1)))))


def _singular_error(S: np.ndarray, name: str, what: str) -> SingularCovarianceError:
    eig = np.linalg.eigvalsh(S)
    top = max(abs(eig[-1]), np.finfo(float).tiny)
    tol = S.shape[0] * np.finfo(float).eps * top
    rank = int(np.sum(eig > tol))
    p = S.shape[0]
    msg = (f"{name} is {what} (numerical rank {rank} of {p}, smallest eigenvalue "
           f"{eig[0]:.3g}): Mahalanobis distances are undefined for it; {_ADVICE}.")
    return SingularCovarianceError(msg, rank=rank, min_eigenvalue=float(eig[0]))


def cholesky(S: np.ndarray, name: str = "cov", *, return_rcond: bool = False) -> Any:
    """Lower Cholesky factor L of a symmetric positive definite S (S = L L^T).

    Raises SingularCovarianceError with the rank and smallest eigenvalue of S when S is not
    numerically positive definite (including matrices whose factorisation "succeeds" with a
    reciprocal condition number below p * eps: those are singular in all but name).
    With ``return_rcond`` also returns that estimate (:func:`correlation_rcond`), so callers
    need not compute it again.
    """
    S = np.asarray(S, dtype=float)
    L, info = lapack.dpotrf(S, lower=1, clean=1, overwrite_a=0)
    if info > 0:
        raise _singular_error(S, name, "not positive definite")
    if info < 0:  # pragma: no cover - argument error inside LAPACK means a bug here
        raise RuntimeError(f"dpotrf argument {-info} was illegal")
    rcond = correlation_rcond(L)
    if rcond < S.shape[0] * np.finfo(float).eps:
        raise _singular_error(S, name, "singular to working precision")
    return (L, rcond) if return_rcond else L


def correlation_rcond(L: np.ndarray) -> float:
    """Estimated reciprocal 1-norm condition number of the correlation form of S = L L^T.

    With d = sqrt(diag S), R = D^-1 S D^-1 has Cholesky factor D^-1 L, so no new
    factorisation is needed; LAPACK's ``dpocon`` estimates ||R^-1||_1 in O(p^2).
    Column scaling does not count: it does not cost accuracy in D^2.
    """
    p = L.shape[0]
    if p == 1:
        return 1.0
    d = np.sqrt(np.einsum("ij,ij->i", L, L))
    LR = L / d[:, None]
    R = LR @ LR.T
    anorm = float(np.max(np.sum(np.abs(R), axis=0)))
    rcond, info = lapack.dpocon(np.asfortranarray(LR.T), anorm, uplo="U")
    if info != 0:  # pragma: no cover
        return 0.0
    return float(rcond)


def warn_if_ill_conditioned(rcond: float, name: str = "cov", stacklevel: int = 3) -> None:
    if rcond * WARN_CONDITION < 1.0:
        warnings.warn(
            f"{name} is ill-conditioned (condition number of its correlation form about "
            f"{1.0 / max(rcond, 1e-300):.2g}): distances along its thinnest directions lose "
            f"accuracy; consider {_ADVICE}.", IllConditionedWarning, stacklevel=stacklevel)


def condition_number(S: np.ndarray) -> float:
    """Exact 2-norm condition number of a symmetric positive definite matrix."""
    eig = np.linalg.eigvalsh(S)
    if eig[0] <= 0:
        return np.inf
    return float(eig[-1] / eig[0])


def log_det_from_cholesky(L: np.ndarray) -> float:
    """log det(L L^T) = 2 sum log diag L."""
    return float(2.0 * np.sum(np.log(np.diagonal(L))))


def inverse_triangular(T: np.ndarray, lower: bool = True) -> np.ndarray:
    """Inverse of a nonsingular triangular matrix (LAPACK dtrtri)."""
    inv, info = lapack.dtrtri(T, lower=int(lower), overwrite_c=0)
    if info != 0:
        raise SingularCovarianceError(
            f"a triangular factor is singular (zero on the diagonal at {info}); {_ADVICE}.")
    return inv


def solve_triangular(T: np.ndarray, B: np.ndarray, lower: bool = True,
                     trans: bool = False) -> np.ndarray:
    """Solve T X = B (or T^T X = B) for triangular T."""
    from scipy.linalg import solve_triangular as _st
    return _st(T, B, lower=lower, trans=1 if trans else 0, check_finite=False)


def whiten_rows(X: np.ndarray, center: np.ndarray, W: np.ndarray, lower: bool) -> np.ndarray:
    """Rows W (x_i - center) of a new C-ordered array (one BLAS triangular multiply).

    The centred copy is made in C order on purpose: its transpose is then Fortran-ordered and
    ``dtrmm`` works on it in place. On a C-ordered transpose (what ``X - center`` gives for a
    Fortran-ordered X) f2py would silently multiply a temporary copy and return Z unchanged.
    """
    Z = np.subtract(X, center, order="C")
    blas.dtrmm(1.0, np.asfortranarray(W), Z.T, side=0, lower=int(lower), overwrite_b=1)
    return Z


#: Batches with at least this many elements (n * p) are split over threads when possible.
PARALLEL_MIN_ELEMENTS = 4_000_000
#: Threads for large batches: one per core, at most four.
N_THREADS = max(1, min(4, os.cpu_count() or 1))


def _ctypes_dtrmm() -> Any:
    """scipy's BLAS ``dtrmm`` as a ctypes function, or None.

    Calls through ctypes release the GIL (f2py's wrappers hold it), so several threads can
    multiply their own chunks at once. The pointer comes from the documented Cython BLAS
    API, ``scipy.linalg.cython_blas`` (its ``__pyx_capi__`` capsules)."""
    try:
        from scipy.linalg import cython_blas
        capsule = cython_blas.__pyx_capi__["dtrmm"]
        get_name = ctypes.pythonapi.PyCapsule_GetName
        get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
        get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
        get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        address = get_ptr(capsule, get_name(capsule))
    except (ImportError, KeyError, AttributeError, ValueError):  # pragma: no cover
        return None
    ip, dp = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double)
    proto = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                             ctypes.c_char_p, ip, ip, dp, ctypes.c_void_p, ip, ctypes.c_void_p, ip)
    return proto(address)


_DTRMM = _ctypes_dtrmm()
_BLAS_CONTROLLER: Any = None


def single_threaded_blas() -> Any:
    """A context limiting BLAS to one thread (threadpoolctl); a no-op context without it."""
    limit = _single_threaded_blas()
    return nullcontext() if limit is None else limit


def _single_threaded_blas() -> Any:
    """A context pinning BLAS to one thread per call (threadpoolctl), or None without it."""
    global _BLAS_CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def _trmm_rows(Wf: np.ndarray, b: np.ndarray, lower: bool) -> None:
    """b := b W^T in place for a C-ordered chunk b (k, p), through ctypes (GIL released)."""
    k, p = b.shape
    m_, n_, ld = ctypes.c_int(p), ctypes.c_int(k), ctypes.c_int(p)
    one = ctypes.c_double(1.0)
    _DTRMM(b"L", b"L" if lower else b"U", b"N", b"N", ctypes.byref(m_), ctypes.byref(n_),
           ctypes.byref(one), Wf.ctypes.data, ctypes.byref(ld), b.ctypes.data, ctypes.byref(ld))


def sq_norms_of_whitened(X: np.ndarray, center: np.ndarray, W: np.ndarray, lower: bool,
                         out: np.ndarray | None = None, rows: int | None = None) -> np.ndarray:
    """Squared norms ||W (x_i - center)||^2 for every row of X, chunk by chunk.

    W is triangular (lower or upper). Each chunk of X is centred into a reused buffer and
    multiplied in place by W with BLAS ``dtrmm``; extra memory is one buffer per thread,
    whatever the number of rows. X is never modified. NaN rows give NaN.

    Large batches are split over ``N_THREADS`` threads, each with its own buffer and BLAS
    pinned to one thread (two threads on two cores: 1.4x faster at 1e6 x 50 than one thread
    with two-thread BLAS, whose calls on skinny chunks scale poorly). This needs threadpoolctl
    (installed with the ``sklearn`` extra); without it the single-thread path runs.
    """
    n, p = X.shape
    if out is None:
        out = np.empty(n)
    if n == 0:
        return out
    rows = rows or chunk_rows(p)
    if N_THREADS > 1 and n * p >= PARALLEL_MIN_ELEMENTS and _DTRMM is not None:
        limit = _single_threaded_blas()
        if limit is not None:
            Wf = np.asfortranarray(W)
            per = -(-n // N_THREADS)
            per = -(-per // rows) * rows  # whole chunks per thread
            bounds = [(a, min(n, a + per)) for a in range(0, n, per)]

            def work(lo_hi: tuple[int, int]) -> None:
                lo, hi = lo_hi
                buf = np.empty((min(rows, hi - lo), p))
                for start in range(lo, hi, rows):
                    stop = min(hi, start + rows)
                    b = buf[: stop - start]
                    np.subtract(X[start:stop], center, out=b)
                    _trmm_rows(Wf, b, lower)
                    np.einsum("ij,ij->i", b, b, out=out[start:stop])

            with limit, ThreadPoolExecutor(len(bounds)) as pool:
                list(pool.map(work, bounds))
            return out
    buf = np.empty((min(rows, n), p))
    Wf = np.asfortranarray(W)
    # Row sums of squares: einsum is fastest for long rows; for short rows (p <= 24) squaring
    # in place and one GEMV with a vector of ones is up to 2x faster (measured). The GEMV is
    # scipy's, like the dtrmm: alternating numpy's and scipy's OpenBLAS in a loop makes each
    # wait for the other's spinning threads (10x slower at 1e5 x 10).
    ones = np.ones(p) if p <= 24 else None
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        b = buf[: stop - start]
        np.subtract(X[start:stop], center, out=b)
        # b is C-ordered (k, p): b.T is Fortran-ordered (p, k) over the same memory, so
        # b.T := W @ b.T in place is exactly the row-wise whitening b := b @ W.T.
        blas.dtrmm(1.0, Wf, b.T, side=0, lower=int(lower), overwrite_b=1)
        if ones is None:
            np.einsum("ij,ij->i", b, b, out=out[start:stop])
        else:
            np.multiply(b, b, out=b)
            blas.dgemv(1.0, b.T, ones, trans=1, y=out[start:stop], overwrite_y=1)
    return out


def refined_sq_distances(X: np.ndarray, center: np.ndarray, S: np.ndarray, L: np.ndarray,
                         out: np.ndarray | None = None, rows: int | None = None) -> np.ndarray:
    """Squared distances (x - m)^T S^-1 (x - m) with one step of iterative refinement.

    For each chunk V of centred rows: W = S^-1 V by two triangular solves, residual
    R = V - S W accumulated in ``np.longdouble``, correction W += S^-1 R, and D^2 = sum(V * W)
    in long double. Costs about 3x the plain path plus an O(n p^2) long-double product; used
    only for ill-conditioned scatter matrices.
    """
    n, p = X.shape
    if out is None:
        out = np.empty(n)
    rows = rows or max(64, chunk_rows(p) // 4)
    S_ld = S.astype(np.longdouble)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        V = X[start:stop] - center  # (k, p)
        Wt, _ = lapack.dpotrs(L, V.T, lower=1)
        V_ld = V.astype(np.longdouble)
        R = (V_ld.T - S_ld @ Wt.astype(np.longdouble)).astype(float)
        dW, _ = lapack.dpotrs(L, R, lower=1)
        Wt_ld = Wt.astype(np.longdouble) + dW.astype(np.longdouble)
        out[start:stop] = np.einsum("ij,ji->i", V_ld, Wt_ld).astype(float)
    return out


# --------------------------------------------------------------------------- co-moments
def comoments(X: np.ndarray, center: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Centre and co-moment matrix sum (x - c)(x - c)^T of X, chunked with bounded memory.

    Pass 1 takes the mean (unless ``center`` is given); pass 2 accumulates the co-moments chunk
    by chunk into one p x p matrix (a BLAS syrk per chunk) together with s = sum (x - m), and
    applies the rounding correction of the "corrected two-pass" algorithm (Chan, Golub &
    LeVeque 1983): the mean becomes m + s / n and s s^T / n is subtracted, so a large common
    offset costs no accuracy. Extra memory is one chunk, whatever n.
    """
    n, p = X.shape
    rows = chunk_rows(p)
    estimated = center is None
    if estimated:
        total = np.zeros(p)
        for s in range(0, n, rows):
            total += X[s:s + rows].sum(axis=0)
        center = total / n
    acc = np.zeros((p, p))
    resid = np.zeros(p)
    buf = np.empty((min(rows, n), p))
    for s in range(0, n, rows):
        b = buf[: min(n, s + rows) - s]
        np.subtract(X[s:s + rows], center, out=b)
        acc += b.T @ b
        resid += b.sum(axis=0)
    if estimated:
        acc -= np.outer(resid, resid) / n
        center = center + resid / n
    return center, (acc + acc.T) / 2


def mean_and_cov(X: np.ndarray, center: np.ndarray | None = None,
                  ddof: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scatter (divisor n - ddof) of X from :func:`comoments`."""
    center, M2 = comoments(X, center)
    return center, M2 / (X.shape[0] - ddof)


# --------------------------------------------------------------------------- all pairs
#: Pairs whose squared distance is below this fraction of ||a||^2 + ||b||^2 are recomputed as
#: ||a - b||^2 directly: there the expansion ||a||^2 + ||b||^2 - 2 a.b loses more than
#: eps / 1e-6 (about 2e-10) of relative accuracy to cancellation.
NEAR_PAIR_RTOL = 1e-6
PAIRWISE_BLOCK = 1024


def pairwise_sq(ZA: np.ndarray, ZB: np.ndarray | None) -> np.ndarray:
    """Squared Euclidean distances between rows of whitened sets (ZB None: ZA with itself).

    One GEMM per block computes the whole expansion: with A = [ZA, |a|^2, 1] and
    B = [-2 ZB, 1, |b|^2], A B^T = |a|^2 + |b|^2 - 2 a.b, so no elementwise pass is needed
    for it. A block whose smallest entry is not small next to the largest norms cannot hold a
    cancellation-prone pair and skips the near-pair scan (typically every block but the
    diagonal ones of a self-distance matrix).
    """
    symmetric = ZB is None
    ZB_ = ZA if symmetric else ZB
    na, nb = ZA.shape[0], ZB_.shape[0]
    na2 = np.einsum("ij,ij->i", ZA, ZA)
    nb2 = na2 if symmetric else np.einsum("ij,ij->i", ZB_, ZB_)
    A = np.column_stack([ZA, na2, np.ones(na)])
    B = np.column_stack([-2.0 * ZB_, np.ones(nb), nb2])
    out = np.empty((na, nb))
    for i0 in range(0, na, PAIRWISE_BLOCK):
        i1 = min(na, i0 + PAIRWISE_BLOCK)
        na2_max = na2[i0:i1].max()
        j_start = i0 if symmetric else 0
        for j0 in range(j_start, nb, PAIRWISE_BLOCK):
            j1 = min(nb, j0 + PAIRWISE_BLOCK)
            blk = out[i0:i1, j0:j1]
            np.matmul(A[i0:i1], B[j0:j1].T, out=blk)
            if blk.min() < NEAR_PAIR_RTOL * (na2_max + nb2[j0:j1].max()):
                _recompute_near(blk, ZA, ZB_, na2, nb2, i0, j0)
            np.maximum(blk, 0.0, out=blk)
            if symmetric and j0 == i0:
                blk[...] = 0.5 * (blk + blk.T)
            elif symmetric:
                out[j0:j1, i0:i1] = blk.T
        if symmetric:
            d = np.arange(i0, i1)
            out[d, d] = 0.0
    return out


def _recompute_near(blk: np.ndarray, ZA: np.ndarray, ZB: np.ndarray, na2: np.ndarray,
                    nb2: np.ndarray, i0: int, j0: int) -> None:
    """Recompute as ||a - b||^2 the entries of a block where the expansion cancels."""
    i1, j1 = i0 + blk.shape[0], j0 + blk.shape[1]
    scale = na2[i0:i1, None] + nb2[None, j0:j1]
    ii, jj = np.nonzero(blk < NEAR_PAIR_RTOL * scale)
    for s in range(0, ii.size, 65536):
        a, b = ii[s:s + 65536], jj[s:s + 65536]
        d = ZA[a + i0] - ZB[b + j0]
        blk[a, b] = np.einsum("ij,ij->i", d, d)
