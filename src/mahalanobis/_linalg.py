"""Numerics kernels: Cholesky factors, triangular products, log-determinants, conditioning,
batch distances, exact co-moments and all-pairs distances.

Nothing here forms an explicit inverse of a scatter matrix for a distance. A scatter S is
factored once, S = L L^T; squared distances are ||W (x - m)||^2 with W = L^-1 triangular,
computed in one fused pass over each block of rows (:func:`sq_distances`). Co-moments come from
one exact pass (:func:`moments`). The hot loops run in the compiled kernels of ``_ckernels.c``
when they were built (:mod:`._kernels`), else in numpy/scipy code computing the same numbers.

For scatter matrices whose correlation form is ill-conditioned (condition number above
``REFINE_CONDITION``), float64 Cholesky loses about ``cond * eps`` of relative accuracy in D^2
(about 1e-9 at cond 1e8). There one step of iterative refinement, with the residual
``v - S w`` accumulated in extended precision (``np.longdouble``), brings the error down to
about ``cond * 1e-19`` (see tests/reference/ILLCOND_NOTES.md).

This module imports nothing of the package except the error types.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import Any

import numpy as np
from scipy.linalg import blas, lapack

from . import _kernels
from .errors import IllConditionedWarning, SingularCovarianceError

__all__ = [
    "CHUNK_BYTES",
    "DIRECT_MAX_DISTANCE",
    "DIRECT_MAX_MOMENTS",
    "EXACT_MAX_WORK",
    "NEAR_PAIR_RTOL",
    "N_THREADS",
    "PARALLEL_MIN_ELEMENTS",
    "REFINE_CONDITION",
    "WARN_CONDITION",
    "Moments",
    "cholesky",
    "chunk_rows",
    "comoments",
    "condition_number",
    "correlation_rcond",
    "inverse_triangular",
    "log_det_from_cholesky",
    "mean_and_cov",
    "moments",
    "pairwise_sq",
    "refined_pairwise_sq",
    "refined_solve",
    "refined_sq_distances",
    "shift_fourth",
    "single_threaded_blas",
    "solve_triangular",
    "sq_distances",
    "sq_norms_of_whitened",
    "whiten_rows",
]

#: Correlation-form condition number above which an IllConditionedWarning is issued.
WARN_CONDITION = 1e10
#: Correlation-form condition number above which distances use one refinement step.
REFINE_CONDITION = 1e5
#: Target size of one chunk buffer (rows x features x 8 bytes) of the numpy code paths.
CHUNK_BYTES = 2 * 1024 * 1024
#: Worker threads for large inputs.
N_THREADS = _kernels.N_THREADS

_ADVICE = ("use a regularised estimator (method='ledoit_wolf', 'oas' or 'mrcd'), drop "
           "collinear or constant columns, or add a ridge (cov + lam * I)")


def chunk_rows(n_features: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Rows per chunk so that one (rows, n_features) float64 buffer is about chunk_bytes."""
    return int(min(65536, max(256, chunk_bytes // (8 * max(n_features, 1)))))


def _nonfinite_error(S: np.ndarray, name: str) -> ValueError:
    """The error for a scatter with NaN or infinite entries (an overflow upstream)."""
    with np.errstate(invalid="ignore"):
        big = float(np.nanmax(np.abs(np.where(np.isfinite(S), S, np.nan)))) \
            if np.isfinite(S).any() else np.inf
    return ValueError(
        f"{name} has NaN or infinite entries (largest finite entry {big:.3g}): the data's "
        "squared deviations overflow float64. Rescale the columns (other units, or divide by "
        "their standard deviation): Mahalanobis distances do not change under rescaling.")


def _singular_error(S: np.ndarray, name: str, what: str) -> SingularCovarianceError:
    if not np.isfinite(S).all():
        raise _nonfinite_error(S, name)
    eig = np.linalg.eigvalsh(S)
    top = max(abs(eig[-1]), np.finfo(float).tiny)
    tol = S.shape[0] * np.finfo(float).eps * top
    rank = int(np.sum(eig > tol))
    p = S.shape[0]
    msg = (f"{name} is {what} (numerical rank {rank} of {p}, smallest eigenvalue "
           f"{eig[0]:.3g}): Mahalanobis distances are undefined for it; {_ADVICE}.")
    return SingularCovarianceError(msg, rank=rank, min_eigenvalue=float(eig[0]))


#: Factorisations of matrices from this size up to SMALL_BLAS_MAX run on one BLAS thread:
#: they take well under a millisecond there, while waking OpenBLAS's thread pool costs more
#: (and its spinning threads then compete with the work that follows, DESIGN.md section 6).
SMALL_BLAS_MIN, SMALL_BLAS_MAX = 48, 1024


def _small_blas(p: int) -> Any:
    if SMALL_BLAS_MIN <= p <= SMALL_BLAS_MAX:
        limit = _kernels.blas_single_thread()
        if limit is not None:
            return limit
    return nullcontext()


def cholesky(S: np.ndarray, name: str = "cov", *, return_rcond: bool = False) -> Any:
    """Lower Cholesky factor L of a symmetric positive definite S (S = L L^T).

    Raises SingularCovarianceError with the rank and smallest eigenvalue of S when S is not
    numerically positive definite (including matrices whose factorisation "succeeds" with a
    reciprocal condition number below p * eps: those are singular in all but name).
    With ``return_rcond`` also returns that estimate (:func:`correlation_rcond`), so callers
    need not compute it again.
    """
    S = np.asarray(S, dtype=float)
    if not np.isfinite(S).all():
        raise _nonfinite_error(S, name)
    with _small_blas(S.shape[0]):
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
    # R = LR LR^T by scipy's BLAS (a numpy product would wake numpy's OpenBLAS threads, which
    # then spin against scipy's during the distances that usually follow)
    R = blas.dsyrk(1.0, LR)
    R = np.triu(R) + np.triu(R, 1).T
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
    with _small_blas(T.shape[0]):
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


# --------------------------------------------------------------------------- batch distances
#: Batches with at least this many elements (n * p) are split over worker threads.
PARALLEL_MIN_ELEMENTS = 1 << 18
#: Up to this many features the compiled distance kernel uses its own register-blocked
#: triangular multiply (no BLAS call); above, BLAS ``dtrmm`` on a cached chunk of rows.
DIRECT_MAX_DISTANCE = 40
#: Bytes of the chunk buffer of the BLAS path of the compiled kernel (per thread; fits L2).
KERNEL_CHUNK_BYTES = 512 * 1024


def single_threaded_blas() -> Any:
    """A context limiting BLAS to one thread (threadpoolctl); a no-op context without it."""
    limit = _kernels.blas_single_thread()
    return nullcontext() if limit is None else limit


def sq_distances(X: np.ndarray, center: np.ndarray, W: np.ndarray, lower: bool, *,
                 take_sqrt: bool = False, out: np.ndarray | None = None
                 ) -> tuple[np.ndarray, int]:
    """Squared norms ||W (x_i - center)||^2 of every row of X, or their square roots
    (``take_sqrt``), and the number of non-finite results (rows holding NaN or inf).

    W is triangular (lower or upper). The compiled kernel makes one pass over each block of
    rows -- centring, triangular multiply and the row sum of squares fused -- with a
    register-blocked multiply for p <= ``DIRECT_MAX_DISTANCE`` and BLAS ``dtrmm`` on a chunk
    held in cache above; batches of at least ``PARALLEL_MIN_ELEMENTS`` elements are split over
    ``N_THREADS`` threads (BLAS pinned to one thread per call). Extra memory is one chunk per
    thread. Without the compiled kernels, :func:`_sq_numpy` computes the same numbers chunk by
    chunk. X is never modified; results are clamped at 0.
    """
    n, p = X.shape
    if out is None:
        out = np.empty(n)
    if n == 0:
        return out, 0
    lib = _kernels.C
    if lib is None:
        _sq_numpy(X, center, W, lower, out)
        bad = int(n - np.count_nonzero(np.isfinite(out)))
        if take_sqrt:
            np.sqrt(out, out=out)
        return out, bad
    X = _kernels.as_kernel_input(X)
    rs, cs = _kernels.strides(X)
    c = np.ascontiguousarray(center, dtype=float)
    # the direct kernel reads whole rows of W: the other triangle must hold zeros
    Wc = np.ascontiguousarray(np.tril(W) if lower else np.triu(W), dtype=float)
    direct = p <= DIRECT_MAX_DISTANCE
    Wf = Wc if direct else np.asfortranarray(Wc)
    rows = max(16, KERNEL_CHUNK_BYTES // (8 * p))
    trmm = None if direct else _kernels.blas_address("dtrmm")
    x0, o0 = X.ctypes.data, out.ctypes.data

    def work(lo: int, hi: int) -> int:
        buf = None if direct else np.empty((min(rows, hi - lo), p))
        return int(lib.mh_sqdist(x0 + 8 * lo * rs, hi - lo, p, rs, cs, c.ctypes.data,
                                 Wc.ctypes.data, Wf.ctypes.data, int(lower), int(take_sqrt),
                                 o0 + 8 * lo, None if buf is None else buf.ctypes.data, rows,
                                 trmm, DIRECT_MAX_DISTANCE))

    counts = _kernels.run_parallel(work, n, n * p >= PARALLEL_MIN_ELEMENTS,
                                   uses_blas=not direct)
    return out, int(sum(counts))


def sq_norms_of_whitened(X: np.ndarray, center: np.ndarray, W: np.ndarray, lower: bool,
                         out: np.ndarray | None = None) -> np.ndarray:
    """Squared norms ||W (x_i - center)||^2 of the rows of X (see :func:`sq_distances`)."""
    return sq_distances(X, center, W, lower, out=out)[0]


def _sq_numpy(X: np.ndarray, center: np.ndarray, W: np.ndarray, lower: bool,
              out: np.ndarray, rows: int | None = None) -> np.ndarray:
    """The numpy/scipy schedule of :func:`sq_distances`: per chunk, centre into a reused
    buffer, multiply in place by W with scipy's BLAS ``dtrmm``, sum squares. Only scipy's
    BLAS runs in the loop (alternating numpy's and scipy's OpenBLAS makes each wait for the
    other's spinning threads)."""
    n, p = X.shape
    rows = rows or chunk_rows(p)
    buf = np.empty((min(rows, n), p))
    Wf = np.asfortranarray(W)
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
        else:  # short rows: square in place and one GEMV (2x faster than einsum)
            np.multiply(b, b, out=b)
            blas.dgemv(1.0, b.T, ones, trans=1, y=out[start:stop], overwrite_y=1)
    return out


def refined_solve(S: np.ndarray, L: np.ndarray, V: np.ndarray) -> np.ndarray:
    """S^-1 V^T (p x k, long double) for the rows V (k x p), with one step of iterative
    refinement: W = S^-1 V^T by two triangular solves, residual R = V^T - S W accumulated in
    ``np.longdouble``, W += S^-1 R. Accurate to about cond * 1e-19 where the plain solve
    loses cond * eps (see tests/reference/ILLCOND_NOTES.md)."""
    Wt, _ = lapack.dpotrs(L, V.T, lower=1)
    R = (V.T.astype(np.longdouble) - S.astype(np.longdouble) @ Wt.astype(np.longdouble))
    dW, _ = lapack.dpotrs(L, R.astype(float), lower=1)
    return Wt.astype(np.longdouble) + dW.astype(np.longdouble)


def refined_sq_distances(X: np.ndarray, center: np.ndarray, S: np.ndarray, L: np.ndarray,
                         out: np.ndarray | None = None, rows: int | None = None) -> np.ndarray:
    """Squared distances (x - m)^T S^-1 (x - m) with one step of iterative refinement
    (:func:`refined_solve` per chunk of centred rows V, then D^2 = sum(V * W) in long double).
    Costs about 3x the plain path plus an O(n p^2) long-double product; used only for
    ill-conditioned scatter matrices."""
    n, p = X.shape
    if out is None:
        out = np.empty(n)
    rows = rows or max(64, chunk_rows(p) // 4)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        V = X[start:stop] - center  # (k, p)
        Wt = refined_solve(S, L, V)
        out[start:stop] = np.einsum("ij,ji->i", V.astype(np.longdouble), Wt).astype(float)
    return out


def refined_pairwise_sq(XA: np.ndarray, XB: np.ndarray | None, shift: np.ndarray,
                        S: np.ndarray, L: np.ndarray) -> np.ndarray:
    """All-pairs squared distances (a - b)^T S^-1 (a - b) for an ill-conditioned S: the
    expansion |a|_S^2 + |b|_S^2 - 2 a^T S^-1 b with S^-1 applied by :func:`refined_solve`
    (no whitening factor, whose rounding would cost cond * eps), and the pairs where the
    expansion cancels recomputed from their exact differences, also refined."""
    VA = XA - shift
    VB = VA if XB is None else XB - shift
    WA = refined_solve(S, L, VA)                       # p x na
    WB = WA if XB is None else refined_solve(S, L, VB)
    na2 = np.einsum("ij,ji->i", VA.astype(np.longdouble), WA).astype(float)
    nb2 = na2 if XB is None else np.einsum("ij,ji->i", VB.astype(np.longdouble),
                                           WB).astype(float)
    out = na2[:, None] + nb2[None, :] - 2.0 * (VA @ WB.astype(float))
    ii, jj = np.nonzero(out < NEAR_PAIR_RTOL * (na2[:, None] + nb2[None, :]))
    for s in range(0, ii.size, 4096):
        a, b = ii[s:s + 4096], jj[s:s + 4096]
        D = XA[a] - (XA if XB is None else XB)[b]
        out[a, b] = np.einsum("ij,ji->i", D.astype(np.longdouble),
                              refined_solve(S, L, D)).astype(float)
    np.maximum(out, 0.0, out=out)
    if XB is None:
        out = 0.5 * (out + out.T)
        np.fill_diagonal(out, 0.0)
    return out


# --------------------------------------------------------------------------- co-moments
#: Up to this many features the compiled co-moment kernel uses its own register-blocked pair
#: loop; above, BLAS ``syrk`` on each block of rows.
DIRECT_MAX_MOMENTS = 1 << 16
#: Exact co-moment accumulation (see :func:`moments`) is used when n p^2 <= EXACT_MAX_WORK
#: (a few milliseconds); beyond, blocks are accumulated in plain double precision (the "fast"
#: mode, a third of the arithmetic).
EXACT_MAX_WORK = 1 << 26
_BLOCK = 256           # rows per block of the compiled kernel (see _ckernels.c)
_NP_BLOCK = 4096       # rows per block of the numpy kernel
_NP_SPLIT_BITS = 20    # 2 * 20 + log2(4096) <= 53: sums of u1 products are exact


class Moments:
    """Count, mean and co-moment matrix of a set of rows, accumulated exactly.

    Built by :func:`moments`. The sums are kept in double-double precision, so that derived
    quantities are rounded once: :attr:`mean`, :meth:`scatter` (the co-moments about the mean
    or a given centre divided by n - ddof) and the co-moment matrix :attr:`M2`.

    Attributes
    ----------
    n : int
    mean : ndarray (p,)
        Column means, correctly rounded from the exact sums.
    M2 : ndarray (p, p)
        Sum of (x - mean)(x - mean)^T.
    constant : ndarray of bool (p,)
        Columns whose values are all equal (exactly).
    finite : bool
        False when some value was NaN or infinite (the other fields are then meaningless).
    q4, t : float and ndarray (p,) or None
        With ``fourth=True``: sum ||x - mean||^4 and sum ||x - mean||^2 (x - mean).
    exact : bool
        Whether the co-moments were accumulated exactly (else in double per block of rows).
    """

    def __init__(self, n: int, T_hi: np.ndarray, T_lo: np.ndarray, M_hi: np.ndarray,
                 M_lo: np.ndarray, constant: np.ndarray, q4: float | None,
                 t: np.ndarray | None, exact: bool) -> None:
        self.n = int(n)
        self._M_hi, self._M_lo = _symmetric(M_hi), _symmetric(M_lo)
        with np.errstate(invalid="ignore", over="ignore"):
            self._mean_hi, self._mean_lo = _dd_div(T_hi, T_lo, float(max(n, 1)))
            self.finite = bool(np.all(np.isfinite(T_hi)) and np.all(np.isfinite(self._M_hi))
                               and np.all(np.isfinite(self._M_lo)))
        self.mean = self._mean_hi + self._mean_lo
        self.M2 = self._M_hi + self._M_lo
        self.constant = constant
        self.q4, self.t, self.exact = q4, t, exact

    def _about(self, center: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """sum (x - c)(x - c)^T as a double-double (c the mean, or ``center``)."""
        if center is None:
            return self._M_hi, self._M_lo
        # sum (x - c)(x - c)^T = M2 + n (mean - c)(mean - c)^T
        s, e = _two_sum(self._mean_hi, -np.asarray(center, dtype=float))
        d = s + (e + self._mean_lo)
        return _dd_add(self._M_hi, self._M_lo, self.n * np.outer(d, d), 0.0)

    def comoments(self, center: np.ndarray | None = None) -> np.ndarray:
        """sum (x - c)(x - c)^T, c the mean or the given ``center``, rounded once."""
        M_hi, M_lo = self._about(center)
        M = M_hi + M_lo
        return (M + M.T) / 2

    def scatter(self, ddof: int = 1, center: np.ndarray | None = None) -> np.ndarray:
        """sum (x - c)(x - c)^T / (n - ddof), c the mean or the given ``center``, rounded
        once from the double-double sums."""
        M_hi, M_lo = self._about(center)
        S_hi, S_lo = _dd_div(M_hi, M_lo, float(self.n - ddof))
        S = S_hi + S_lo
        return (S + S.T) / 2

    def fourth_about(self, center: np.ndarray) -> float:
        """sum ||x - center||^4 (needs ``fourth=True``): the shift of q4 from the mean."""
        assert self.q4 is not None and self.t is not None
        d = self.mean - np.asarray(center, dtype=float)
        dd = float(d @ d)
        return float(self.q4 + 4.0 * (d @ self.t) + 4.0 * (d @ self.M2 @ d)
                     + 2.0 * dd * np.trace(self.M2) + self.n * dd * dd)


def _symmetric(U: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose upper triangle is U's."""
    return np.triu(U) + np.triu(U, 1).T


def _two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a: Any, b: Any) -> tuple[Any, Any]:
    """a * b = p + e exactly (Dekker's product: no fused multiply-add needed)."""
    p = a * b
    f = 134217729.0  # 2^27 + 1
    ca, cb = f * a, f * b
    a_hi, b_hi = ca - (ca - a), cb - (cb - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _dd_add(a_hi: Any, a_lo: Any, b_hi: Any, b_lo: Any) -> tuple[Any, Any]:
    s, e = _two_sum(a_hi, b_hi)
    e = e + (a_lo + b_lo)
    t = s + e
    return t, e - (t - s)


def _dd_div(hi: Any, lo: Any, d: float) -> tuple[Any, Any]:
    """(hi + lo) / d as a double-double."""
    q = hi / d
    p, e = _two_prod(q, d)
    r = ((hi - p) - e) + lo
    q2 = r / d
    t = q + q2
    return t, q2 - (t - q)


class _State:
    """Running state of the co-moment accumulation (the arrays the C kernel updates)."""

    def __init__(self, p: int, fourth: bool) -> None:
        self.n = np.zeros(1)
        self.T_hi, self.T_lo = np.zeros(p), np.zeros(p)
        self.M_hi, self.M_lo = np.zeros((p, p)), np.zeros((p, p))
        self.q4 = np.zeros(1)
        self.t = np.zeros(p)
        self.fourth = fourth

    def pointers(self) -> list[int]:
        return [a.ctypes.data for a in (self.n, self.T_hi, self.T_lo, self.M_hi, self.M_lo,
                                         self.q4, self.t)]

    def merge(self, other: _State) -> None:
        """self := merge(self, other) (Chan, Golub & LeVeque 1979, eq. 2.1b, in
        double-double); the numpy twin of the C kernel's ``mh_merge``."""
        lib = _kernels.C
        p = self.T_hi.size
        if lib is not None:
            lib.mh_merge(p, int(self.fourth), *self.pointers(), *other.pointers())
            return
        na, nb = float(self.n[0]), float(other.n[0])
        if nb == 0:
            return
        if na == 0:
            self.__dict__.update({k: v.copy() if isinstance(v, np.ndarray) else v
                                  for k, v in other.__dict__.items()})
            return
        n = na + nb
        ma_hi, ma_lo = _dd_div(self.T_hi, self.T_lo, na)
        mb_hi, mb_lo = _dd_div(other.T_hi, other.T_lo, nb)
        s, e = _two_sum(mb_hi, -ma_hi)
        delta = s + (e + (mb_lo - ma_lo))
        delta_lo = (e + (mb_lo - ma_lo)) - (delta - s)
        if self.fourth:
            self.q4[0], self.t = shift_fourth(self.q4[0], self.t, _symmetric(self.M_hi), na,
                                               -delta * (nb / n))
            q4b, tb = shift_fourth(other.q4[0], other.t, _symmetric(other.M_hi), nb,
                                    delta * (na / n))
            self.q4[0] += q4b
            self.t = self.t + tb
        # w delta delta^T in double-double (the term is of the order of sigma_i sigma_j)
        w, w_lo = _dd_div(na * nb, 0.0, n)   # its rounding would be eps sigma^2 per merge
        wd, wd_lo = _two_prod(w, delta)
        wd_lo = wd_lo + (w * delta_lo + w_lo * delta)
        t, t_lo = _two_prod(wd[:, None], delta[None, :])
        t_lo = t_lo + (wd[:, None] * delta_lo[None, :] + wd_lo[:, None] * delta[None, :])
        self.M_hi, self.M_lo = _dd_add(self.M_hi, self.M_lo, other.M_hi, other.M_lo)
        self.M_hi, self.M_lo = _dd_add(self.M_hi, self.M_lo, t, t_lo)
        self.T_hi, self.T_lo = _dd_add(self.T_hi, self.T_lo, other.T_hi, other.T_lo)
        self.n[0] = n


def shift_fourth(q: float, t: np.ndarray, M: np.ndarray, n: float, d: np.ndarray
                  ) -> tuple[float, np.ndarray]:
    """(q, t) = (sum ||w||^4, sum ||w||^2 w) of deviations w with sum w = 0 and co-moments M,
    moved to w + d (the reference point shifted by -d)."""
    dd = float(d @ d)
    Md = M @ d
    tr = float(np.trace(M))
    q = float(q + 4.0 * (d @ t) + 4.0 * (d @ Md) + 2.0 * dd * tr + n * dd * dd)
    return q, t + 2.0 * Md + tr * d + n * dd * d


def _block_state_numpy(B: np.ndarray, fourth: bool) -> _State:
    """The state of one block of rows, accumulated exactly in numpy: shift by the rounded
    block mean c, split x - c = u1 + r with u1 on a grid of 2^(e_j - 20) (exact products and
    sums, see the module notes of _ckernels.c), one GEMM of [u1, r]^T [u1, r]."""
    k, p = B.shape
    st = _State(p, fourth)
    c = B.sum(axis=0) / k
    hi = B - c
    bb = hi - B
    lo = (B - (hi - bb)) + (-c - bb)
    m = np.abs(hi).max(axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.frexp(np.where(np.isfinite(m), m, 0.0))[1]
        sigma = np.where((m > 0) & (m <= 1e300), np.ldexp(1.5, e - _NP_SPLIT_BITS + 52), 0.0)
        u1 = (hi + sigma) - sigma
        r = (hi - u1) + lo
    U = np.concatenate([u1, r], axis=1)
    G = U.T @ U
    P_hi, P_lo = _two_sum(G[:p, :p], G[:p, p:] + G[p:, :p] + G[p:, p:])
    s_hi, s_lo = u1.sum(axis=0), r.sum(axis=0)  # nearly opposite: their sum is tiny
    kc, kc_lo = _two_prod(float(k), c)
    st.T_hi, st.T_lo = _dd_add(kc, kc_lo, s_hi, s_lo)
    s = s_hi + s_lo
    st.M_hi, st.M_lo = _two_sum(P_hi, P_lo - np.outer(s, s) / k)
    st.n[0] = k
    if fourth:
        w = (u1 + r) - s / k
        a = np.einsum("ij,ij->i", w, w)
        st.q4[0] = float(a @ a)
        st.t = w.T @ a
    return st


def moments(X: np.ndarray, *, fourth: bool = False, exact: bool | None = None) -> Moments:
    """Count, exact sums and co-moments of the rows of X in one pass (bounded memory).

    Each block of rows is shifted by its rounded mean and its co-moments are merged into a
    running state with the update of Chan, Golub & LeVeque (1979, eq. 2.1b) in double-double
    arithmetic, so no large common offset costs accuracy and no second pass over X is needed.
    In exact mode the block sums are exact too (an error-free split of the deviations makes
    every product and partial sum exact; see ``_ckernels.c``): the mean and the co-moments are
    then correctly rounded but for rare ties, as R's long-double ``cov`` is. In fast mode
    (``exact=False``, the default when n p^2 > ``EXACT_MAX_WORK``) blocks of up to 1024 rows
    are accumulated in double (register-blocked loop or BLAS ``syrk``), an error of a few eps
    relative to sqrt(M_ii M_jj) in M_ij.

    The same pass flags constant columns exactly and notices NaN/inf (``finite``), so callers
    need no separate ``ptp``, finiteness or mean pass. ``fourth=True`` also accumulates the
    fourth-moment sums Ledoit-Wolf needs. Large inputs are split over worker threads whose
    states are merged the same way. Extra memory: O(p^2 + 256 p) per thread.
    """
    X = _kernels.as_kernel_input(np.asarray(X))
    n, p = X.shape
    if exact is None:
        exact = n * p * p <= EXACT_MAX_WORK
    lib = _kernels.C
    if n == 0:
        st = _State(p, fourth)
    elif lib is None:
        st = _State(p, fourth)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf show in `finite`
            for s in range(0, n, _NP_BLOCK):
                st.merge(_block_state_numpy(X[s:s + _NP_BLOCK], fourth))
        exact = True
    else:
        rs, cs = _kernels.strides(X)
        direct = p <= DIRECT_MAX_MOMENTS
        syrk = None if direct else _kernels.blas_address("dsyrk")
        x0 = X.ctypes.data
        # blocks of whole groups of 8 rows: the kernel's column tiles (leading dimension kb)
        # are padded to a multiple of 8 rows, which must not reach into the next column
        kb = _BLOCK if exact else max(_BLOCK, min(1024, KERNEL_CHUNK_BYTES // (8 * p)) // 8 * 8)
        size = int(lib.mh_moments_work(p, kb))

        def work(lo: int, hi: int) -> _State:
            part = _State(p, fourth)
            scratch = np.empty(size)
            lib.mh_moments(x0 + 8 * lo * rs, hi - lo, p, rs, cs, int(exact), int(fourth),
                           *part.pointers(), scratch.ctypes.data, syrk, DIRECT_MAX_MOMENTS, kb)
            return part

        states = _kernels.run_parallel(work, n, n * p >= PARALLEL_MIN_ELEMENTS,
                                       uses_blas=not direct, align=kb)
        st = states[0]
        for other in states[1:]:
            st.merge(other)
    mom = Moments(n, st.T_hi, st.T_lo, st.M_hi, st.M_lo, np.zeros(p, dtype=bool),
                  float(st.q4[0]) if fourth else None, st.t.copy() if fourth else None,
                  bool(exact))
    if n and mom.finite:
        mom.constant = _constant_columns(X, mom)
    return mom


def _constant_columns(X: np.ndarray, mom: Moments) -> np.ndarray:
    """Columns whose values are all equal. The co-moments of a constant column are zero up to
    the rounding of its block means (far below n (16 eps mean)^2); only columns that small are
    checked value by value, so the common case costs no pass over X."""
    var = np.diagonal(mom.M2)
    scale = 16.0 * np.finfo(float).eps * np.abs(mom.mean)
    out = np.zeros(var.shape[0], dtype=bool)
    for j in np.flatnonzero(~(var > mom.n * scale * scale)):
        col = X[:, j]
        out[j] = bool(np.all(col == col[0]))
    return out


def comoments(X: np.ndarray, center: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Centre and co-moment matrix sum (x - c)(x - c)^T of X (c the mean unless given), from
    one exact pass (:func:`moments`)."""
    mom = moments(X)
    if center is None:
        return mom.mean, mom.comoments()
    c = np.asarray(center, dtype=float)
    return c, mom.comoments(c)


def mean_and_cov(X: np.ndarray, center: np.ndarray | None = None,
                 ddof: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scatter sum (x - c)(x - c)^T / (n - ddof) of X (c the mean unless given),
    each rounded once from exact sums (:func:`moments`)."""
    mom = moments(X)
    if center is None:
        return mom.mean, mom.scatter(ddof)
    c = np.asarray(center, dtype=float)
    return c, mom.scatter(ddof, center=c)


# --------------------------------------------------------------------------- all pairs
#: Pairs whose squared distance is below this fraction of ||a||^2 + ||b||^2 are recomputed
#: directly as ||W (a - b)||^2: there the expansion ||a||^2 + ||b||^2 - 2 a.b loses more than
#: eps / 1e-6 (about 2e-10) of relative accuracy to cancellation.
NEAR_PAIR_RTOL = 1e-6
PAIRWISE_BLOCK = 1024
#: Rows per panel of the compiled all-pairs kernel (one dgemm, then a pass in cache).
PAIRWISE_PANEL = 32


def pairwise_sq(ZA: np.ndarray, ZB: np.ndarray | None, *, XA: np.ndarray | None = None,
                XB: np.ndarray | None = None, W: np.ndarray | None = None, lower: bool = True,
                take_sqrt: bool = False) -> np.ndarray:
    """Squared Euclidean distances (or distances, ``take_sqrt``) between the rows of whitened
    sets ZA = (XA - s) W^T and ZB (ZB None: ZA with itself, exactly symmetric, zero diagonal).

    The expansion |a|^2 + |b|^2 - 2 a.b comes from one GEMM per panel of rows; entries where
    it cancels (below ``NEAR_PAIR_RTOL`` (|a|^2 + |b|^2)) are recomputed as ||W (xa - xb)||^2
    from the raw rows when ``XA``, ``XB`` and ``W`` are given (exact differences: full relative
    accuracy for near pairs), else as ||za - zb||^2. The compiled kernel fuses the clamping,
    the check, the recomputation and the square root into one pass over each panel while it
    is in cache, on worker threads for large outputs.
    """
    symmetric = ZB is None
    ZB_ = ZA if symmetric else ZB
    if XA is not None and symmetric:
        XB = XA
    exact_near = XA is not None and XB is not None and W is not None
    lib = _kernels.C
    if lib is None:
        out = _pairwise_numpy(ZA, ZB_, symmetric,  # type: ignore[arg-type]  # ZB_: ZA if ZB None
                              XA if exact_near else None, XB if exact_near else None, W, lower)
        if take_sqrt:
            np.sqrt(out, out=out)
        return out
    ZA = np.ascontiguousarray(ZA, dtype=float)
    ZB_ = ZA if symmetric else np.ascontiguousarray(ZB_, dtype=float)
    na, p = ZA.shape
    nb = ZB_.shape[0]
    na2 = np.einsum("ij,ij->i", ZA, ZA)
    nb2 = na2 if symmetric else np.einsum("ij,ij->i", ZB_, ZB_)
    if exact_near:
        RA = np.ascontiguousarray(XA, dtype=float)
        RB = RA if symmetric else np.ascontiguousarray(XB, dtype=float)
        Wc = np.ascontiguousarray(W, dtype=float)
    else:  # recompute from the whitened rows: W = I
        RA, RB, Wc, lower = ZA, ZB_, np.eye(p), True
    out = np.empty((na, nb))
    if na == 0 or nb == 0:
        return out
    gemm = _kernels.blas_address("dgemm")
    # long rows: taller panels make each dgemm more efficient (measured 5-10 % at p = 200)
    panel = PAIRWISE_PANEL if p < 128 else 4 * PAIRWISE_PANEL

    def work(lo: int, hi: int) -> None:
        scratch = np.empty(max(p, 1))
        lib.mh_pairwise_rows(ZA.ctypes.data, ZB_.ctypes.data, na2.ctypes.data,
                             nb2.ctypes.data, RA.ctypes.data, RB.ctypes.data, Wc.ctypes.data,
                             int(lower), na, nb, p, lo, hi, out.ctypes.data, nb, int(symmetric),
                             NEAR_PAIR_RTOL, int(take_sqrt), panel, gemm, scratch.ctypes.data)

    parallel = na * nb * max(p, 1) >= 4 * PARALLEL_MIN_ELEMENTS and na >= 2 * panel
    ranges = None
    if symmetric:  # equal areas of the upper triangle per thread
        k = _kernels.N_THREADS
        cuts = [0, *(round(float(na * (1 - np.sqrt(1 - i / k)))) for i in range(1, k)), na]
        ranges = [(cuts[i], cuts[i + 1]) for i in range(k) if cuts[i + 1] > cuts[i]]
    _kernels.run_parallel(work, na, parallel, uses_blas=True, ranges=ranges)
    if symmetric:
        lib.mh_mirror_upper(out.ctypes.data, na, nb)
    return out


def _pairwise_numpy(ZA: np.ndarray, ZB: np.ndarray, symmetric: bool, XA: np.ndarray | None,
                    XB: np.ndarray | None, W: np.ndarray | None, lower: bool) -> np.ndarray:
    """The numpy schedule of :func:`pairwise_sq`: with A = [ZA, |a|^2, 1] and
    B = [-2 ZB, 1, |b|^2], one GEMM per block gives the whole expansion A B^T; a block whose
    smallest entry is not small next to its largest norms cannot hold a cancellation-prone
    pair and skips the near-pair scan."""
    na, nb = ZA.shape[0], ZB.shape[0]
    na2 = np.einsum("ij,ij->i", ZA, ZA)
    nb2 = na2 if symmetric else np.einsum("ij,ij->i", ZB, ZB)
    A = np.column_stack([ZA, na2, np.ones(na)])
    B = np.column_stack([-2.0 * ZB, np.ones(nb), nb2])
    out = np.empty((na, nb))
    for i0 in range(0, na, PAIRWISE_BLOCK):
        i1 = min(na, i0 + PAIRWISE_BLOCK)
        na2_max = na2[i0:i1].max()
        j_start = i0 if symmetric else 0
        for j0 in range(j_start, nb, PAIRWISE_BLOCK):
            j1 = min(nb, j0 + PAIRWISE_BLOCK)
            blk = out[i0:i1, j0:j1]
            np.matmul(A[i0:i1], B[j0:j1].T, out=blk)
            # (`not >=`: a NaN entry, from a NaN row kept by nan_policy="propagate", makes the
            # minimum NaN, and the block must still be scanned)
            if not blk.min() >= NEAR_PAIR_RTOL * (na2_max + nb2[j0:j1].max()):
                _recompute_near(blk, ZA, ZB, na2, nb2, i0, j0, XA, XB, W, lower)
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
                    nb2: np.ndarray, i0: int, j0: int, XA: np.ndarray | None,
                    XB: np.ndarray | None, W: np.ndarray | None, lower: bool) -> None:
    """Recompute the entries of a block where the expansion cancels: ||W (xa - xb)||^2 from
    the raw rows when given, else ||za - zb||^2."""
    i1, j1 = i0 + blk.shape[0], j0 + blk.shape[1]
    scale = na2[i0:i1, None] + nb2[None, j0:j1]
    ii, jj = np.nonzero(blk < NEAR_PAIR_RTOL * scale)
    Wt = None if W is None else np.asarray(W).T
    for s in range(0, ii.size, 65536):
        a, b = ii[s:s + 65536], jj[s:s + 65536]
        if XA is not None and XB is not None and Wt is not None:
            d = (XA[a + i0] - XB[b + j0]) @ Wt
        else:
            d = ZA[a + i0] - ZB[b + j0]
        blk[a, b] = np.einsum("ij,ij->i", d, d)
