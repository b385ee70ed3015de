"""Minimum Regularized Covariance Determinant (MRCD), as R's rrcov ``CovMrcd``.

Boudt, Rousseeuw, Vanduffel & Verdonck (2020), "The minimum regularized covariance
determinant estimator", Statistics and Computing 30:113-128. The MCD's h-subset covariance is
replaced by the convex combination K(H) = rho T + (1 - rho) c_alpha S(H) (their eq. 3) of a
well-conditioned target T and the subset covariance, which is positive definite even for
p > n. The algorithm (their Sect. 4, rrcov's ``.detmrcd``):

1. standardise each variable by its median and Qn, floored at 1e-3 times the variable's
   standard deviation (rrcov's ``minscale = 1e-3`` is absolute, which makes the estimate depend
   on the units: data scaled by 1e-10 would be floored throughout; the relative floor keeps
   MRCD scale-equivariant and agrees with rrcov whenever the floor is not reached);
2. target: the identity, or an equicorrelation matrix whose eigenbasis then whitens the data;
3. six deterministic h-subsets of DetMCD (without the refinement step);
4. per subset, rho_k such that the condition number of K is ``max_condition`` (eq. 13), then
   rho = the largest rho_k not above max(0.1, median rho_k);
5. C-steps with K(H) (Theorem 1 of the paper) from each admissible subset to convergence;
   the subset with the smallest det(K)^(1/p) wins;
6. back-transformation to the original units.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .. import _linalg, _scale
from .._deprecation import deprecated_alias, renamed_parameters
from .._validation import (
    as_data,
    check_choice,
    check_fraction,
    check_int,
    check_nan_policy,
    check_spread,
    constant_columns_error,
)
from ..errors import SingularCovarianceError
from ._base import FitResult
from ._mcd_factors import mcd_consistency
from ._mcd_init import six_starts
from ._rho import zeroin

__all__ = ["MRCDResult", "mrcd"]

_TARGETS = ("identity", "equicorrelation")
#: The floor of each variable's Qn, relative to its standard deviation (rrcov: minscale,
#: absolute).
_MIN_SCALE = 1e-3
#: Relative difference below which two starts' objectives tie.
_TIE_RTOL = 1e-12


class MRCDResult(FitResult):
    """A fitted MRCD: a :class:`~mahalanobis.Metric` (``center``, ``cov``) with diagnostics.

    Attributes
    ----------
    rho : float
        Regularisation weight of the target.
    target : ndarray of shape (p, p)
        The target matrix in the original units (``diag(Qn^2)`` for ``target="identity"``).
    consistency : float
        c_alpha = ``.MCDcons(p, h/n)``, the factor applied to the subset covariance.
    h : int
        Subset size ``ceil(support_fraction * n)`` (rrcov's rule, not ``h.alpha.n``).
    support : ndarray of bool, shape (n_samples,)
        The best h-subset.
    log_det : float
        log det of ``cov`` in original units (rrcov's ``crit``).
    best_starts : tuple of int
        Which of the six starts (0-based) reached the optimum (rrcov ``iBest`` - 1).
    initial_rhos : ndarray of shape (6,)
        The per-start rho_k; ``n_csteps`` the C-steps per start (0 for skipped starts).
    standardization_center, standardization_scale : ndarray
        Column medians and Qn scales used to standardise.

    See Also
    --------
    mrcd : The estimator that returns it.
    MCDResult : The unregularised MCD.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6
    >>> r = mh.fit(X, method="mrcd")
    >>> r.h, r.target_name, bool(r.support[:5].any())
    (75, 'identity', False)
    """

    _fields = ("rho", "target", "target_name", "equicorrelation", "consistency", "h",
               "support_fraction", "support", "best_starts", "initial_rhos", "rho_cutoff",
               "n_csteps", "initial_subsets", "standardization_center",
               "standardization_scale")
    _repr_fields = ("support_fraction", "h", "rho", "target_name")
    rho: float
    target: np.ndarray
    target_name: str
    equicorrelation: float
    consistency: float
    h: int
    support_fraction: float
    support: np.ndarray
    best_starts: tuple[int, ...]
    initial_rhos: np.ndarray
    rho_cutoff: float
    n_csteps: np.ndarray
    initial_subsets: np.ndarray
    standardization_center: np.ndarray
    standardization_scale: np.ndarray

    alpha = deprecated_alias("alpha", "support_fraction")


def _rho_for(eig: np.ndarray, max_condition: float) -> float:
    """rho_k of rrcov: the root of cond(rho) = max_condition on [1e-5, 0.99] by uniroot, or
    the smallest grid value closest to it when there is no sign change (paper eq. 13)."""
    e1, ep = float(eig.min()), float(eig.max())

    def f(r: Any) -> Any:
        return (r + (1 - r) * ep) / (r + (1 - r) * e1) - max_condition

    lo, hi = 1e-5, 0.99
    flo, fhi = f(lo), f(hi)
    if np.isfinite(flo) and np.isfinite(fhi) and not flo * fhi > 0:
        return zeroin(f, lo, hi, flo, fhi, np.finfo(float).eps ** 0.25)
    grid = np.concatenate([[1e-6], 0.001 + np.arange(990) * 0.001, [0.999999]])
    obj = np.abs(f(grid))
    return float(grid[obj == obj.min()].min())


def _helmert(p: int) -> np.ndarray:
    H = np.zeros((p, p))
    H[:, 0] = 1 / math.sqrt(p)
    for j in range(2, p + 1):
        H[: j - 1, j - 1] = 1 / math.sqrt(j * (j - 1))
        H[j - 1, j - 1] = -(j - 1) / math.sqrt(j * (j - 1))
    return H


class _Kernel:
    """K(H) = rho I + (1 - rho) c S_H (S_H with divisor h, rrcov's ``.RCOV``) in the
    standardised space: its log-determinant and the distances of all points, by Cholesky of
    K when p <= h, by Sherman-Morrison-Woodbury (an h x h Cholesky) when p > h."""

    def __init__(self, W: np.ndarray, idx: np.ndarray, rho: float, scfac: float):
        sub = W[idx]
        self.mu = sub.mean(axis=0)
        E = sub - self.mu
        h, p = E.shape
        self.rho, nu = rho, (1 - rho) * scfac
        if p <= h:
            K = rho * np.eye(p) + nu * (E.T @ E) / h
            self.L = np.linalg.cholesky(K)
            self.logdet = 2 * float(np.sum(np.log(np.diag(self.L))))
            self.U = None
        else:
            self.U = E.T / math.sqrt(h)                       # p x h
            M = (rho / nu) * np.eye(h) + self.U.T @ self.U    # h x h
            self.L = np.linalg.cholesky(M)
            # det K = rho^p det(I + nu/rho U^T U) = rho^p (nu/rho)^h det M
            self.logdet = (p * math.log(rho) + h * math.log(nu / rho)
                           + 2 * float(np.sum(np.log(np.diag(self.L)))))

    def sq_dist(self, W: np.ndarray) -> np.ndarray:
        if self.U is None:  # the fused batch kernel with the triangular inverse of L
            Winv = _linalg.inverse_triangular(self.L, lower=True)
            return _linalg.sq_norms_of_whitened(W, self.mu, Winv, True)
        V = W - self.mu
        B = V @ self.U                                        # n x h
        Z = np.linalg.solve(self.L, B.T)
        return (np.sum(V * V, axis=1) - np.sum(Z * Z, axis=0)) / self.rho


def _csteps(W: np.ndarray, start: np.ndarray, h: int, rho: float, scfac: float,
            max_csteps: int) -> tuple[np.ndarray, _Kernel, int]:
    """rrcov's ``.cstep_mrcd``: C-steps with K(H) until the subset repeats."""
    index = np.sort(np.argsort(_Kernel(W, start, rho, scfac).sq_dist(W), kind="stable")[:h])
    it = 1
    while True:
        K = _Kernel(W, index, rho, scfac)
        if it >= max_csteps:
            break
        new = np.sort(np.argsort(K.sq_dist(W), kind="stable")[:h])
        if np.array_equal(new, index):
            break
        index = new
        it += 1
    return index, K, it


@renamed_parameters(alpha="support_fraction")
def mrcd(X: ArrayLike, *, support_fraction: float = 0.75, target: str = "identity",
         max_condition: float = 50.0, max_csteps: int = 200,
         initial_subsets: Any = None, min_scale: float | None = None,
         nan_policy: str = "raise") -> MRCDResult:
    """Minimum Regularized Covariance Determinant (Boudt et al. 2020), as rrcov ``CovMrcd``.

    Works for any n and p, including p > n: the scatter is a convex combination of a target
    matrix and the (consistency-scaled) covariance of the best h-subset, regularised just
    enough that its condition number (in standardised units) is at most ``max_condition``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data.
    support_fraction : float in [0.5, 1]
        Share of the data in the subset (rrcov's ``alpha``): h = ceil(support_fraction * n)
        (rrcov's rule).
    target : {"identity", "equicorrelation"}
        Target in standardised units: the identity, or an equicorrelation matrix estimated
        from the Spearman correlations (rrcov's ``target``).
    max_condition : float
        Condition number the regularisation aims for (rrcov ``maxcond``, 50).
    max_csteps : int
        Cap on C-steps per start (rrcov ``maxcsteps``).
    initial_subsets : array-like of int, shape (k, >= h), optional
        0-based initial subsets to use instead of the six deterministic starts (rrcov
        ``initHsets``, transposed and 0-based). For p > n the deterministic starts depend on
        the eigenvectors of rank-deficient matrices, which differ between LAPACK builds;
        passing R's ``initHsets - 1`` reproduces rrcov exactly.
    min_scale : float, optional
        Floor of each variable's Qn in the standardisation. Default: 1e-3 times the
        variable's standard deviation (relative, so the estimate does not depend on the
        units of any column). A number is an absolute floor, as rrcov's ``minscale``:
        ``min_scale=1e-3`` reproduces ``CovMrcd`` also on data whose Qn falls below 1e-3
        (e.g. spectra), at the cost of scale equivariance.
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (``result.omitted`` lists them).

    Returns
    -------
    MRCDResult
        ``center``, ``cov`` (rrcov 1.7-2 has no reweighting step, so these are the MRCD
        estimates themselves), ``rho``, ``target``, ``h``, ``support``, ``consistency``.

    Raises
    ------
    ValueError
        For ``support_fraction`` outside [0.5, 1], an unknown ``target``, bad
        ``initial_subsets`` or too few rows.

    See Also
    --------
    mcd : The unregularised MCD (needs n > p + 1).
    ledoit_wolf : Non-robust shrinkage for p > n.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(1).standard_normal((20, 40))      # p > n
    >>> r = mh.fit(X, method="mrcd")
    >>> r.h, round(r.rho, 3), r.n_features
    (15, 0.122, 40)
    """
    check_nan_policy(nan_policy, ("raise", "omit"))
    support_fraction = check_fraction(support_fraction, "support_fraction", low=0.5, high=1.0,
                                      low_open=False, high_open=False)
    check_choice(target, "target", _TARGETS)
    max_csteps = check_int(max_csteps, "max_csteps", 1)
    max_condition = check_fraction(max_condition, "max_condition", low=1.0, high=np.inf)
    if not max_condition > 1:
        raise ValueError(f"max_condition must be a number above 1; got {max_condition!r}.")
    # three rows at least: the six deterministic starts take the half of the points nearest
    # the centre, and a covariance of one point is undefined
    data = as_data(X, "X", nan_policy=nan_policy, min_samples=3)
    check_spread(data)  # variances float64 can hold
    A = data.values
    n, p = A.shape
    h = math.ceil(support_fraction * n)
    if h < 2:
        raise ValueError(f"X has {n} rows: the MRCD subset (h = ceil(support_fraction * n) = "
                         f"{h}) needs at least 2 points; pass more data.")
    # 1. standardisation (median, Qn floored at 1e-3 standard deviations)
    const = np.flatnonzero(np.ptp(A, axis=0) == 0)
    if const.size:  # nothing to standardise by: no estimator can use such a column
        raise constant_columns_error("X", const, data.columns, p)
    med = np.median(A, axis=0)
    qn = np.array([_scale.qn(A[:, j], exact=False) for j in range(p)])
    if min_scale is None:
        floor = _MIN_SCALE * np.std(A, axis=0)
    else:
        floor = np.full(p, check_fraction(min_scale, "min_scale", high=np.inf))
    qn = np.maximum(qn, floor)
    U = (A - med) / qn
    # 2. target; for equicorrelation, whiten with its eigenbasis (Helmert vectors)
    if target == "equicorrelation" and p > 1:
        r = np.corrcoef(np.apply_along_axis(stats.rankdata, 0, U), rowvar=False)
        r = np.sin(np.pi / 2 * r)
        c = float(np.mean(r[np.triu_indices(p, 1)]))
        c = max(c, min(0.0, -1.0 / (p - 1) + 0.01))
        Q = _helmert(p)
        ev = np.concatenate([[1 + (p - 1) * c], np.full(p - 1, 1 - c)])
        sq = np.sqrt(ev)
        W = (U @ Q) / sq
    else:
        Q, sq, c = None, None, 0.0
        W = U
    # 3. six deterministic starts (no refinement), r6pack(scaled = FALSE, scalefn = Qn)
    if initial_subsets is None:
        starts = six_starts(W, h, _scale.qn, refine=False, scaled=False)
    else:
        starts = np.asarray(initial_subsets)
        if (starts.ndim != 2 or starts.shape[1] < h or starts.dtype.kind not in "iu"
                or starts.min() < 0 or starts.max() >= n):
            raise ValueError(f"initial_subsets must be a (k, >= h) array of row indices in "
                             f"[0, {n}) with h = {h}; got shape {starts.shape}.")
        starts = starts[:, :h]
    n_starts = starts.shape[0]
    scfac = mcd_consistency(p, h / n)
    # 4. rho per start (eigenvalues of c_alpha S_k, divisor h - 1)
    rhos = np.empty(n_starts)
    for k in range(n_starts):
        sub = W[starts[k]]
        E = sub - sub.mean(axis=0)
        G = E @ E.T if p > h else E.T @ E  # same nonzero eigenvalues
        eig = np.linalg.eigvalsh(scfac * G / (h - 1))
        if p > h:
            eig = np.concatenate([eig, np.zeros(p - h)])
        rhos[k] = _rho_for(eig, max_condition)
    cutoff = max(0.1, float(np.median(rhos)))
    # rrcov keeps the starts with rho_k <= cutoff; starts whose rho equals the median to
    # rounding (an ulp either way, depending on the BLAS) count as equal to it.
    admissible = rhos <= cutoff * (1.0 + _TIE_RTOL)
    rho = float(rhos[admissible].max())
    selected = [k for k in range(n_starts) if admissible[k]]
    # 5. C-steps from every admissible start; strict improvement of det(K)^(1/p)
    n_csteps = np.zeros(n_starts, dtype=int)
    best = None
    best_obj = np.inf
    best_starts: list[int] = []
    for pos, k in enumerate(selected):
        idx, K, it = _csteps(W, starts[k], h, rho, scfac, max_csteps)
        if pos > 0:
            n_csteps[k] = it
        with np.errstate(over="ignore", under="ignore"):
            obj = float(np.exp(K.logdet)) ** (1.0 / p)   # as rrcov: det(K)^(1/p)
        # Objectives equal to rounding tie (rrcov compares them exactly, but which of two
        # equal objectives rounds lower depends on the BLAS; the first start keeps the win).
        if best is not None and abs(obj - best_obj) <= _TIE_RTOL * abs(best_obj):
            best_starts.append(k)
        elif best is None or obj < best_obj:
            best, best_obj, best_starts = idx, obj, [k]
    assert best is not None
    # 6. final estimate (divisor h - 1) and back-transformation
    sub = W[best]
    mu = sub.mean(axis=0)
    E = sub - mu
    cov_w = rho * np.eye(p) + (1 - rho) * scfac * (E.T @ E) / (h - 1)
    T = np.eye(p)
    if Q is not None:
        B = Q * sq                                 # Q diag(sqrt(ev))
        mu, cov_w, T = B @ mu, B @ cov_w @ B.T, (Q * (sq * sq)) @ Q.T
    center = qn * mu + med
    cov = cov_w * np.outer(qn, qn)
    T = T * np.outer(qn, qn)
    cov = (cov + cov.T) / 2
    try:
        L = _linalg.cholesky(cov, "MRCD covariance")
    except SingularCovarianceError:  # pragma: no cover - K is positive definite by design
        raise
    mask = np.zeros(n, dtype=bool)
    mask[best] = True
    return MRCDResult._build(
        center, cov=cov, L=L, method="mrcd", n_samples=n, data=data, rho=rho,
        target=(T + T.T) / 2, target_name=target, equicorrelation=float(c),
        consistency=float(scfac), h=h, support_fraction=float(support_fraction), support=mask,
        best_starts=tuple(best_starts), initial_rhos=rhos, rho_cutoff=cutoff,
        n_csteps=n_csteps, initial_subsets=np.sort(starts, axis=1),
        standardization_center=med, standardization_scale=qn)
