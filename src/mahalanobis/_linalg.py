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

import warnings
from typing import Any

import numpy as np
from scipy.linalg import blas, lapack

from .errors import IllConditionedWarning, SingularCovarianceError

__all__ = [
    "CHUNK_BYTES",
    "REFINE_CONDITION",
    "WARN_CONDITION",
    "cholesky",
    "chunk_rows",
    "condition_number",
    "correlation_rcond",
    "inverse_triangular",
    "log_det_from_cholesky",
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


def sq_norms_of_whitened(X: np.ndarray, center: np.ndarray, W: np.ndarray, lower: bool,
                         out: np.ndarray | None = None, rows: int | None = None) -> np.ndarray:
    """Squared norms ||W (x_i - center)||^2 for every row of X, chunk by chunk.

    W is triangular (lower or upper). Each chunk of X is centred into one reused buffer and
    multiplied in place by W with BLAS ``dtrmm``; extra memory is that one buffer, whatever
    the number of rows. X is never modified. NaN rows give NaN.
    """
    n, p = X.shape
    if out is None:
        out = np.empty(n)
    if n == 0:
        return out
    rows = rows or chunk_rows(p)
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
