"""Regularised precision estimators for p > n: the modified Cholesky decomposition.

For one ordering of the variables, Pourahmadi's (1999) modified Cholesky decomposition writes
the precision matrix as ``Omega = T^T D^-1 T``: row j of the unit lower-triangular T holds
minus the coefficients of the regression of variable j on variables 1..j-1, and D holds the
residual variances. Penalising those regressions (Huang, Liu, Pourahmadi & Liu 2006) makes
every factor exist when p > n, and averaging the estimates over random orderings (Kang & Deng
2020; Zheng, Tsui, Kang & Deng 2017) removes the dependence on column order.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import blas, lapack

from .._linalg import inverse_triangular
from .._validation import (
    Data,
    as_data,
    check_choice,
    check_int,
    check_nonnegative,
    check_random_state,
    check_spread,
)
from ..errors import SingularCovarianceError
from ._base import FitResult

__all__ = ["ModifiedCholeskyPrecision", "modified_cholesky"]

_PENALTIES = ("ridge", "none")
_LOG_2PI = float(np.log(2.0 * np.pi))
#: Largest p for n_orderings="all" (8! = 40320 orderings).
_MAX_P_ALL = 8


class ModifiedCholeskyPrecision(FitResult):
    """A fitted metric whose precision is a (possibly ordering-averaged) modified Cholesky estimate.

    Attributes
    ----------
    lam : float
        Ridge penalty of the regressions, on the scale of standardised variables.
    penalty : str
        "ridge" or "none".
    lams, cv_scores : ndarray or None
        The grid searched and the mean held-out Gaussian log-likelihood per observation for
        each value (None when ``lam`` was given).
    orderings : ndarray of int, shape (n_orderings, p)
        The variable orderings averaged over (row k lists the columns in regression order).
    T : ndarray of shape (p, p) or None
        For a single ordering: the unit lower-triangular factor, ``T[j, k] = -phi_jk``, minus
        the coefficient of variable k in the regression of variable j on its predecessors (in
        the units of the data). None for an average over orderings.
    D : ndarray of shape (p,) or None
        For a single ordering: the residual variances of those regressions (data units), so
        that ``precision = T.T @ diag(1 / D) @ T``. None for an average.

    See Also
    --------
    modified_cholesky : The estimator that returns it.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.covariance import modified_cholesky
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> r = modified_cholesky(X, n_orderings=1, lam=0.1)
    >>> bool(np.allclose(r.precision, r.T.T @ np.diag(1 / r.D) @ r.T))
    True
    """

    _fields = ("lam", "penalty", "lams", "cv_scores", "orderings", "T", "D")
    _repr_fields = ("lam", "n_orderings")
    lam: float
    penalty: str
    lams: np.ndarray | None
    cv_scores: np.ndarray | None
    orderings: np.ndarray
    T: np.ndarray | None
    D: np.ndarray | None

    @property
    def n_orderings(self) -> int:
        """Number of variable orderings averaged over.

        See Also
        --------
        modified_cholesky : Its ``n_orderings`` argument.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.covariance import modified_cholesky
        >>> X = np.random.default_rng(0).standard_normal((20, 5))
        >>> modified_cholesky(X, lam=0.1, random_state=0).n_orderings
        30
        """
        return int(self.orderings.shape[0])


# --------------------------------------------------------------------------- kernels
def _standardize(A: np.ndarray, name: str = "X", columns: Any = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z = (A - m) / sd with the column means and standard deviations (divisor n - 1)."""
    m = A.mean(axis=0)
    C = A - m
    var = np.einsum("ij,ij->j", C, C) / (A.shape[0] - 1)
    # a constant column's mean need not be exact (0.1 is not a double): its deviations are
    # then rounding, so constancy is decided on the values themselves
    const = np.flatnonzero(~(var > 0) | (np.ptp(A, axis=0) == 0))
    if const.size:
        names = ([str(columns[i]) for i in const] if columns is not None
                 else [f"column {i}" for i in const])
        raise SingularCovarianceError(
            f"{name} has constant column(s) {', '.join(names[:5])}: a regression on or of a "
            "constant is undefined. Drop them (they carry no information for a distance).",
            min_eigenvalue=0.0)
    sd = np.sqrt(var)
    C /= sd
    return C, m, sd


def _ordering_factor(R: np.ndarray, perm: np.ndarray, lam: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whitening W = D^-1/2 T, T and D for the variables of R taken in the order ``perm``.

    The ridge regression of variable j on its predecessors (standardised data, correlation
    matrix R, divisor n - 1) has coefficients b_j = (R_<j,<j + lam I)^-1 R_<j,j: exactly the
    coefficients of the LDL^T factorisation of R + lam I, whose off-diagonal part is R's. So
    with R + lam I = L L^T, T = diag(L) L^-1 (unit lower triangular, row j = [-b_j, 1]) and
    the LDL^T pivots are diag(L)^2 = 1 + lam - b_j^T R_<j,j. The residual variance of the
    ridge fit, RSS_j / (n - 1) = 1 - 2 b^T c + b^T A b with A b = c - lam b, is

        d_j = diag(L)_j^2 - lam ||T_j||^2                          (||T_j||^2 = 1 + ||b_j||^2)

    (the L2-penalised regressions of Huang et al. 2006). For lam = 0, d = diag(L)^2 and
    T^T D^-1 T = R^-1 exactly.
    """
    p = R.shape[0]
    M = R[np.ix_(perm, perm)]
    M.flat[:: p + 1] += lam
    L, info = lapack.dpotrf(M, lower=1, clean=1, overwrite_a=1)
    if info != 0:
        raise SingularCovarianceError(
            "the (penalised) correlation matrix of X is not positive definite, so the "
            "regressions of the modified Cholesky decomposition have no unique solution "
            "(n_samples <= n_features or collinear columns); use penalty='ridge' with lam > 0 "
            "(or lam=None to choose it by cross-validation).", min_eigenvalue=0.0)
    ld = np.diagonal(L).copy()
    Linv = inverse_triangular(L, lower=True)
    T = Linv * ld[:, None]
    d = ld**2
    if lam > 0:
        d -= lam * np.einsum("ij,ij->i", T, T)
        # d_j >= 0 in exact arithmetic; a cancellation below rounding level is clamped.
        np.maximum(d, ld**2 * (p * np.finfo(float).eps), out=d)
        W = T / np.sqrt(d)[:, None]
    else:
        W = Linv
    return W, T, d


def _averaged_precision(R: np.ndarray, orderings: np.ndarray, lam: float) -> np.ndarray:
    """Mean over orderings of the per-ordering precision P_k^T W_k^T W_k P_k (standardised).

    W_k^T W_k comes from one BLAS ``syrk`` (scipy's, like the factorisations, so that the hot
    loop stays on one OpenBLAS); it is scattered back to the original variable order.
    """
    p = R.shape[0]
    Om = np.zeros((p, p))
    iu = np.triu_indices(p, 1)
    for perm in orderings:
        W, _, _ = _ordering_factor(R, perm, lam)
        G = blas.dsyrk(1.0, W, trans=1, lower=0)  # upper triangle of W^T W
        G[iu[1], iu[0]] = G[iu]
        Om[np.ix_(perm, perm)] += G
    Om /= orderings.shape[0]
    return (Om + Om.T) / 2


def _heldout_loglik(Om: np.ndarray, Z_test: np.ndarray, sd: np.ndarray) -> float:
    """Sum of log N(x; m, Sigma) over held-out rows, with Sigma^-1 = diag(1/sd) Om diag(1/sd)
    and Z_test the rows standardised by the training m and sd; -inf if Om is not PD."""
    n_test, p = Z_test.shape
    L, info = lapack.dpotrf(Om, lower=1, clean=1)
    if info != 0:
        return -np.inf
    log_det_prec = 2.0 * float(np.sum(np.log(np.diagonal(L)))) - 2.0 * float(np.sum(np.log(sd)))
    V = blas.dtrmm(1.0, L, Z_test, side=1, lower=1)  # rows z^T L: ||z^T L||^2 = z^T Om z
    q = float(np.sum(V * V))
    return 0.5 * n_test * (log_det_prec - p * _LOG_2PI) - 0.5 * q


def _orderings(n_orderings: Any, p: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(n_orderings, str):
        if n_orderings != "all":
            raise ValueError(f"n_orderings must be a positive integer or 'all'; got "
                             f"{n_orderings!r}.")
        if p > _MAX_P_ALL:
            raise ValueError(f"n_orderings='all' needs {p}! orderings for {p} features; it is "
                             f"allowed up to {_MAX_P_ALL} features. Pass an integer (e.g. 30).")
        return np.array(list(itertools.permutations(range(p))), dtype=np.intp)
    n_orderings = check_int(n_orderings, "n_orderings", 1, "or 'all'")
    if n_orderings == 1:
        return np.arange(p, dtype=np.intp)[None, :]
    return np.array([rng.permutation(p) for _ in range(int(n_orderings))], dtype=np.intp)


def _cv_lam(A: np.ndarray, orderings: np.ndarray, lams: np.ndarray, cv: Any,
            rng: np.random.Generator) -> np.ndarray:
    """Mean held-out Gaussian log-likelihood per observation for every lam (K-fold CV)."""
    n = A.shape[0]
    cv = check_int(cv, "cv", 2, "the number of folds")
    if cv > n:
        raise ValueError(f"cv={cv} folds need at least {cv} rows; X has {n}. Use fewer folds.")
    if n - math.ceil(n / cv) < 3:
        raise ValueError(f"cv={cv} folds leave fewer than 3 training rows out of {n}; use "
                         "fewer folds or give lam directly.")
    total = np.zeros(lams.size)
    for test in np.array_split(rng.permutation(n), int(cv)):
        train = np.ones(n, dtype=bool)
        train[test] = False
        Z, m, sd = _standardize(A[train])
        R = Z.T @ Z / (Z.shape[0] - 1)
        Z_test = (A[test] - m) / sd
        for i, lam in enumerate(lams):
            try:
                Om = _averaged_precision(R, orderings, float(lam))
            except SingularCovarianceError:
                total[i] = -np.inf
                continue
            total[i] += _heldout_loglik(Om, Z_test, sd)
    return total / n


def _check_lam(lam: Any, penalty: str) -> float | None:
    if penalty == "none":
        if lam not in (None, 0, 0.0):
            raise ValueError(f"penalty='none' fits unpenalised regressions, so lam must be None "
                             f"or 0; got lam={lam!r}. Use penalty='ridge' for a penalty.")
        return 0.0
    if lam is None:
        return None
    lam = check_nonnegative(lam, "lam")
    return lam


# --------------------------------------------------------------------------- public API
def modified_cholesky(X: ArrayLike, *, n_orderings: int | str = 30, penalty: str = "ridge",
                      lam: float | None = None, lams: ArrayLike | None = None, cv: int = 5,
                      random_state: Any = None,
                      nan_policy: str = "raise") -> ModifiedCholeskyPrecision:
    """Precision matrix from penalised modified Cholesky regressions, averaged over orderings.

    For one ordering of the (standardised) variables, regress each variable on its
    predecessors: ``x_j = sum_{k<j} phi_jk x_k + e_j`` with Var(e_j) = d_j. Then
    ``Omega = T^T D^-1 T`` (Pourahmadi 1999, Section 2), T unit lower triangular with
    ``T[j, k] = -phi_jk`` and D = diag(d_j). The regressions are ridge-penalised
    (``penalty="ridge"``: an L2 penalty on the phi's, as in Huang et al. 2006), so every
    factor exists and is positive definite when p > n; all p regressions of one ordering come
    from a single Cholesky factorisation of ``R + lam I`` (R the correlation matrix), see
    ``_ordering_factor``. Ridge rather than lasso: it is closed-form (one factorisation per
    ordering instead of p coordinate-descent fits), and sparsity of Omega is not the goal of a
    distance.

    A single ordering makes the estimate depend on the column order. Following the ensemble
    idea of Kang & Deng (2020) and Zheng et al. (2017), the estimate here is the average of the
    per-ordering precision matrices over ``n_orderings`` random orderings. (Kang & Deng average
    the Cholesky factors and threshold them for sparsity; averaging Omega instead keeps the
    estimate positive definite, as a mean of positive definite matrices, and makes the squared
    distance exactly the mean of the per-ordering squared distances.) The averaged estimator is
    invariant in distribution to permuting the columns, and exactly invariant with
    ``n_orderings="all"``.

    Variables are standardised (mean 0, variance 1, divisor n - 1) before the regressions and
    the estimate is mapped back, so the result is equivariant under rescaling columns, as the
    Mahalanobis distance is, and ``lam`` is on the correlation scale.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data.
    n_orderings : int or "all"
        1: the columns' own order (Pourahmadi's estimator, for variables with a natural order
        such as time); distances then come from the triangular whitening matrix
        ``D^-1/2 T`` without forming Omega, and ``T`` and ``D`` are reported. k > 1: the mean
        over k random orderings. "all": every ordering (p <= 8).
    penalty : {"ridge", "none"}
        "none" is the unpenalised decomposition (needs n > p; equals the inverse sample
        covariance for a single ordering).
    lam : float, optional
        Ridge penalty on the standardised scale. Default: chosen by K-fold cross-validated
        Gaussian log-likelihood of the (averaged) estimate over ``lams``.
    lams : sequence of float, optional
        Grid for the cross-validation; default ``logspace(-4, 2, 13)`` (lam -> infinity gives
        the diagonal estimate diag(S)^-1).
    cv : int
        Number of folds (>= 2).
    random_state : int or numpy Generator, optional
        Seeds the orderings and the folds.
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (``metric.omitted`` lists their positions).

    Returns
    -------
    ModifiedCholeskyPrecision
        A Metric with ``lam``, ``lams``, ``cv_scores``, ``orderings`` (and ``T``, ``D`` for a
        single ordering), ``method="modified_cholesky"`` and ``n_samples``.

    Raises
    ------
    ValueError
        For an unknown ``penalty``, a bad ``lam``/``lams``/``n_orderings``, or
        ``penalty="none"`` with n <= p.
    SingularCovarianceError
        When a column is constant.

    See Also
    --------
    ridge : A ridge-regularised covariance.
    ledoit_wolf : Shrinkage of the sample covariance.

    Notes
    -----
    Cost: O(n p^2) for the correlation matrix, then O(n_orderings p^3) per value of lam, times
    ``cv * len(lams)`` when lam is cross-validated.

    References
    ----------
    M. Pourahmadi (1999). Joint mean-covariance models with applications to longitudinal data:
    unconstrained parameterisation. Biometrika 86(3), 677-690.
    J. Z. Huang, N. Liu, M. Pourahmadi and L. Liu (2006). Covariance matrix selection and
    estimation via penalised normal likelihood. Biometrika 93(1), 85-98.
    X. Kang and X. Deng (2020). An improved modified Cholesky decomposition approach for
    precision matrix estimation. Journal of Statistical Computation and Simulation 90(3),
    443-464 (arXiv:1710.05163).
    H. Zheng, K.-W. Tsui, X. Kang and X. Deng (2017). Cholesky-based model averaging for
    covariance matrix estimation. Statistical Theory and Related Fields 1(1), 48-58.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> r = mh.fit(X, method="modified_cholesky", lam=0.1, random_state=0)
    >>> r.n_orderings, r.orderings.shape
    (30, (30, 5))
    """
    check_choice(penalty, "penalty", _PENALTIES)
    lam_value = _check_lam(lam, penalty)
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' makes no sense for fitting; use 'raise' or "
                         "'omit'.")
    data: Data = as_data(X, "X", nan_policy=nan_policy, min_samples=2)
    check_spread(data)  # variances float64 can hold
    A = data.values
    n, p = A.shape
    rng = check_random_state(random_state)
    orderings = _orderings(n_orderings, p, rng)
    Z, center, sd = _standardize(A, columns=data.columns)
    grid: np.ndarray | None = None
    scores: np.ndarray | None = None
    if lam_value is None:
        grid = (np.logspace(-4, 2, 13) if lams is None
                else np.atleast_1d(np.asarray(lams, dtype=float)))
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) \
                or np.any(grid <= 0):
            raise ValueError(f"lams must be a non-empty 1-D sequence of positive finite "
                             f"numbers; got {lams!r}.")
        scores = _cv_lam(A, orderings, grid, cv, rng)
        if not np.any(np.isfinite(scores)):  # pragma: no cover - lam > 0 is always PD
            raise SingularCovarianceError("no value of lams gave a positive definite estimate; "
                                          "pass larger lams.")
        lam_value = float(grid[int(np.argmax(scores))])
    R = Z.T @ Z / (n - 1)
    if orderings.shape[0] == 1 and np.array_equal(orderings[0], np.arange(p)):
        W, T, d = _ordering_factor(R, orderings[0], lam_value)
        W_data = W / sd[None, :]              # acts on x - m in data units; still lower
        T_data = T * sd[:, None] / sd[None, :]
        D_data = d * sd**2
        log_det = float(np.sum(np.log(D_data)))  # log det Sigma = -log det Omega
        scatter: dict[str, Any] = {"W": np.ascontiguousarray(W_data), "W_lower": True,
                                   "log_det": log_det}
        T_out, D_out = T_data, D_data
    else:
        Om = _averaged_precision(R, orderings, lam_value) / np.outer(sd, sd)
        scatter, T_out, D_out = {"precision": (Om + Om.T) / 2}, None, None
    return ModifiedCholeskyPrecision._build(
        center, method="modified_cholesky", n_samples=n, data=data, **scatter,
        lam=float(lam_value), penalty=penalty, lams=grid, cv_scores=scores,
        orderings=orderings, T=T_out, D=D_out)
