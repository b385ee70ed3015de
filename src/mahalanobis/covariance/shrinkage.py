"""Shrinkage and ridge estimators of scatter: Ledoit-Wolf, OAS and cross-validated ridge.

All three stay positive definite when n_samples <= n_features, where the sample covariance is
singular.

- :func:`ledoit_wolf` and :func:`oas` shrink the sample covariance towards ``mu * I`` with a
  data-driven intensity; both need only the sample covariance and (Ledoit-Wolf) the sum of
  fourth powers of the row norms, which one chunked pass over the data provides.
- :func:`ridge` adds ``lam * I`` to the sample covariance, with ``lam`` given or chosen by
  K-fold cross-validated Gaussian log-likelihood.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import _array_api
from .._linalg import mean_and_cov
from .._sample import sample_moments
from .._validation import (
    Data,
    as_xp_data,
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_random_state,
    is_dask,
)
from ._base import FitResult

__all__ = ["RidgeCovariance", "ShrunkCovariance", "ledoit_wolf", "oas", "ridge"]

_OAS_FORMULAS = ("paper", "sklearn")
_LOG_2PI = float(np.log(2.0 * np.pi))


# --------------------------------------------------------------------------- result types
class ShrunkCovariance(FitResult):
    """A fitted metric whose scatter is ``(1 - shrinkage) * S + shrinkage * mu * I``.

    Returned by :func:`ledoit_wolf` and :func:`oas`; ``S`` is the biased sample covariance
    (divisor n) and ``mu = trace(S) / p``.

    Attributes
    ----------
    shrinkage : float
        The shrinkage intensity in [0, 1]: 0 is the sample covariance, 1 is ``mu * I``.
    mu : float
        The scale of the target ``mu * I`` (the mean sample variance).

    See Also
    --------
    ledoit_wolf, oas : The estimators that return it.
    RidgeCovariance : A ridge instead of a convex combination.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.covariance import ledoit_wolf
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> r = ledoit_wolf(X)
    >>> round(r.shrinkage, 4), round(r.mu, 4)
    (0.6415, 0.8969)
    """

    _fields = ("shrinkage", "mu")
    _repr_fields = ("shrinkage", "mu")
    shrinkage: float
    mu: float


class RidgeCovariance(FitResult):
    """A fitted metric whose scatter is ``S + lam * I`` (S the sample covariance, divisor
    n - 1).

    Attributes
    ----------
    lam : float
        The ridge added to the diagonal.
    lams : ndarray or None
        The grid searched by cross-validation (None when ``lam`` was given).
    cv_scores : ndarray or None
        Mean held-out Gaussian log-likelihood per observation for each value of ``lams``
        (None when ``lam`` was given); ``lam`` is the maximiser.

    See Also
    --------
    ridge : The estimator that returns it.
    ShrunkCovariance : Shrinkage towards a scaled identity.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.covariance import ridge
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> r = ridge(X, lam=0.5)
    >>> r.lam, r.lams is None
    (0.5, True)
    """

    _fields = ("lam", "lams", "cv_scores")
    _repr_fields = ("lam",)
    lam: float
    lams: np.ndarray | None
    cv_scores: np.ndarray | None


# --------------------------------------------------------------------------- kernels
def _fit_data_xp(X: Any, nan_policy: str, min_samples: int) -> Data:
    """Checked Array API input (PyTorch, JAX, CuPy...), kept on its device."""
    if nan_policy == "propagate":
        raise ValueError("nan_policy='propagate' makes no sense for fitting; use 'raise' or "
                         "'omit'.")
    return as_xp_data(X, "X", nan_policy=nan_policy, min_samples=min_samples)


def _scatter_and_fourth_moment(X: Any, nan_policy: str, assume_centered: bool,
                               fourth: bool = True) -> tuple[Data, Any, Any, float]:
    """Checked data, centre, biased scatter S = sum (x - m)(x - m)^T / n and
    q4 = sum_k ||x_k - m||^4, all from one pass over X (:func:`mahalanobis._linalg.moments`,
    whose co-moments are exact and whose fourth-moment sums are merged block by block; for
    Array API input the same quantities on X's device).

    This is the only O(n p^2) work: the fourth-moment term of Ledoit-Wolf,
    sum_ij (X^2)^T X^2 = sum_k ||x_k||^4, is O(n p) (not computed when ``fourth`` is False,
    q4 = 0). Extra memory is a few blocks of rows, whatever n.
    """
    if _array_api.is_foreign(X):
        data = _fit_data_xp(X, nan_policy, 1 if assume_centered else 2)
        center, S, q4 = _array_api.scatter_and_fourth_moment(data.values, assume_centered,
                                                              fourth)
        return data, center, S, q4
    data, mom = sample_moments(X, "X", nan_policy=nan_policy,
                               min_samples=1 if assume_centered else 2, fourth=fourth,
                               covariance=False)
    p = data.values.shape[1]
    if assume_centered:
        center = np.zeros(p)
        S = mom.scatter(ddof=0, center=center)
        q4 = mom.fourth_about(center) if fourth else 0.0
    else:
        center = mom.mean
        S = mom.scatter(ddof=0)
        q4 = float(mom.q4) if fourth and mom.q4 is not None else 0.0
    return data, center, S, q4


def _unit_factor(S: Any) -> float | None:
    """A power of two k with k^2 trace(S) / p near 1 (None: S is zero, or not finite)."""
    c = float(np.trace(S)) / S.shape[0]
    if not (c > 0 and np.isfinite(c)):
        return None
    return float(2.0 ** -round(np.log2(np.sqrt(c))))  # 1 / sqrt(c), rounded to a power of two


def _unit_scale(A: Any, center: Any, S: Any, q4: float) -> tuple[Any, float]:
    """S and q4 = sum ||x - center||^4 rescaled by a power of two (exactly) so that the
    average variance is near 1: the shrinkage intensity does not depend on the scale, but
    q4 (the data's scale to the fourth power) and tr(S)^2 leave float64's range for data
    beyond about 1e+-75. Far from 1, q4 is summed again from the rescaled deviations."""
    if _array_api.is_foreign(A):
        return S, q4
    k = _unit_factor(S)
    if k is None:
        return S, q4
    c = 1.0 / (k * k)
    if 1e-140 < c < 1e140 and np.isfinite(q4) and q4 > 0:
        return S * (k * k), q4 * k**4
    Z = (np.asarray(A, dtype=float) - center) * k
    r2 = np.einsum("ij,ij->i", Z, Z)
    return S * (k * k), float(r2 @ r2)


def _ledoit_wolf_shrinkage(S: np.ndarray, q4: float, n: int) -> float:
    """Ledoit & Wolf (2004), Section 3, Lemmas 3.2-3.5, with <A, B> = tr(A B^T) / p:

    m = <S, I> = tr(S) / p,   d^2 = ||S - m I||^2,
    b^2 = min(bbar^2, d^2),   bbar^2 = (1/n^2) sum_k ||x_k x_k^T - S||^2,
    shrinkage = b^2 / d^2.

    Expanding the norm with sum_k x_k^T S x_k = n tr(S^2) gives
    bbar^2 = (sum_k ||x_k||^4 / n - ||S||_F^2) / (n p): O(p^2) work once S and q4 are known.
    The arithmetic follows scikit-learn's ``ledoit_wolf_shrinkage`` term by term so that the
    two agree to rounding.
    """
    p = S.shape[0]
    if p == 1:
        return 0.0
    tr, fro2 = _array_api.trace_and_fro2(S)         # trace(S), ||S||_F^2
    mu = tr / p
    beta = (q4 / n - fro2) / (p * n)                # bbar^2
    delta = (fro2 - 2.0 * mu * tr + p * mu**2) / p  # d^2
    beta = min(beta, delta)
    if beta <= 0.0 or delta <= 0.0:
        return 0.0
    return float(min(beta / delta, 1.0))


def _oas_shrinkage(S: np.ndarray, n: int, formula: str) -> float:
    """Oracle approximating shrinkage intensity (Chen, Wiesel, Eldar & Hero 2010).

    ``formula="paper"`` is their eq. (23):

        rho = min( ((1 - 2/p) tr(S^2) + tr^2(S)) / ((n + 1 - 2/p) (tr(S^2) - tr^2(S)/p)), 1 ).

    ``formula="sklearn"`` is scikit-learn's simplification, which drops both 2/p terms:

        rho = min( (tr(S^2) + tr^2(S)) / ((n + 1) (tr(S^2) - tr^2(S)/p)), 1 ),

    computed, like scikit-learn, through alpha = mean(S**2) = tr(S^2)/p^2 and mu = tr(S)/p.
    """
    p = S.shape[0]
    if p == 1:
        return 0.0  # the target equals S: any intensity gives the same estimate
    tr, fro2 = _array_api.trace_and_fro2(S)
    alpha = fro2 / p**2                             # mean(S**2)
    mu = tr / p
    mu2 = mu**2
    if formula == "sklearn":
        num = alpha + mu2
        den = (n + 1) * (alpha - mu2 / p)
    else:  # eq. (23) divided through by p^2
        num = (1.0 - 2.0 / p) * alpha + mu2
        den = (n + 1.0 - 2.0 / p) * (alpha - mu2 / p)
    if den <= 0.0:
        return 1.0
    return float(min(max(num / den, 0.0), 1.0))


def _shrunk(S: np.ndarray, shrinkage: float) -> tuple[np.ndarray, float]:
    with np.errstate(over="ignore"):  # only the trace is used; ||S||^2 may overflow
        mu = _array_api.trace_and_fro2(S)[0] / S.shape[0]
    return _array_api.add_diagonal((1.0 - shrinkage) * S, shrinkage * mu), mu


def _shrunk_metric(data: Data | None, center: np.ndarray, S: np.ndarray, shrinkage: float,
                   method: str, **fit: Any) -> ShrunkCovariance:
    """The result; ``fit`` (n_samples, feature_names, omitted) when there is no ``data``."""
    C, mu = _shrunk(S, shrinkage)
    if data is not None:
        fit = {"n_samples": data.values.shape[0], "data": data}
    return ShrunkCovariance._build(center, cov=C, method=method, shrinkage=float(shrinkage),
                                   mu=mu, **fit)


# --------------------------------------------------------------------------- public API
def ledoit_wolf(X: ArrayLike, *, assume_centered: bool = False,
                nan_policy: str = "raise") -> ShrunkCovariance:
    """Ledoit-Wolf shrinkage of the sample covariance towards ``mu * I``.

    The estimate is ``(1 - shrinkage) * S + shrinkage * mu * I`` with S the sample covariance,
    ``mu = trace(S) / p`` and the intensity of Ledoit & Wolf (2004), which minimises the
    expected Frobenius loss asymptotically. It is positive definite whenever ``shrinkage > 0``,
    in particular for n_samples <= n_features.

    Convention: S is the *biased* sample covariance (divisor n), as in the paper (whose
    estimator and consistency results are stated for it) and in scikit-learn's
    ``LedoitWolf``. The result equals ``sklearn.covariance.LedoitWolf().fit(X).covariance_``
    to rounding (about 1e-15 relative). Note that :func:`empirical` divides by n - 1.

    Computation: one pass over the data forms S (exact co-moments, blocks of rows merged by
    Chan, Golub & LeVeque's update) and the fourth-moment term sum_k ||x_k - m||^4 (O(n p),
    merged with the same shifts); scikit-learn does three n x p x p products for the same
    numbers. Memory beyond the p x p result is a few blocks of rows.

    Dask Arrays and DataFrames are fitted in one pass over their blocks, without gathering
    them (the blocks' moments and fourth-moment sums are merged).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data (NumPy, pandas, dask or an Array API array).
    assume_centered : bool
        True: the location is 0 and S = X^T X / n; False: the location is the column means.
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (``metric.omitted`` lists their positions).

    Returns
    -------
    ShrunkCovariance
        A Metric with ``shrinkage``, ``mu``, ``method="ledoit_wolf"`` and ``n_samples``.

    Raises
    ------
    ValueError
        For bad data (fewer than 2 rows, NaN with ``nan_policy="raise"``...).

    See Also
    --------
    oas : Oracle approximating shrinkage (towards the same target).
    ridge : A cross-validated ridge.
    sklearn.covariance.LedoitWolf : scikit-learn's estimator (same numbers).

    References
    ----------
    O. Ledoit and M. Wolf (2004). A well-conditioned estimator for large-dimensional covariance
    matrices. Journal of Multivariate Analysis 88(2), 365-411. Section 3, Lemmas 3.2-3.5.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> r = mh.fit(X, method="ledoit_wolf")
    >>> round(r.shrinkage, 4)
    0.6415
    """
    assume_centered = check_bool(assume_centered, "assume_centered")
    if is_dask(X):
        from .._dask._shrinkage import ledoit_wolf_dask
        return ledoit_wolf_dask(X, assume_centered=assume_centered, nan_policy=nan_policy)
    data, center, S, q4 = _scatter_and_fourth_moment(X, nan_policy, bool(assume_centered))
    S_unit, q4 = _unit_scale(data.values, center, S, q4)
    shrinkage = _ledoit_wolf_shrinkage(S_unit, q4, data.values.shape[0])
    return _shrunk_metric(data, center, S, shrinkage, "ledoit_wolf")


def oas(X: ArrayLike, *, assume_centered: bool = False, formula: str = "paper",
        nan_policy: str = "raise") -> ShrunkCovariance:
    """Oracle approximating shrinkage (OAS) of the sample covariance towards ``mu * I``.

    The estimate is ``(1 - rho) * S + rho * mu * I`` (Chen et al. 2010, eqs. (3)-(4)), with S
    the biased sample covariance (divisor n, as in the paper and scikit-learn) and
    ``mu = trace(S) / p``. The intensity rho is the limit of the oracle-approximating
    iteration for Gaussian data.

    Which formula: by default the paper's eq. (23),
    ``rho = min(((1 - 2/p) tr(S^2) + tr^2(S)) / ((n + 1 - 2/p)(tr(S^2) - tr^2(S)/p)), 1)``,
    because that is the estimator whose MSE properties the paper proves, and the 2/p terms
    scikit-learn drops are not small when p is small (at p = 2 the tr(S^2) term of the
    numerator vanishes; at p = 10 the numerator changes by up to 20%). ``formula="sklearn"``
    gives scikit-learn's simplification (both 2/p terms omitted), which equals
    ``sklearn.covariance.OAS().fit(X).covariance_`` to rounding. For large p the two agree to
    O(1/p) in the intensity.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data (NumPy, pandas, dask or an Array API array).
    assume_centered : bool
        True: the location is 0 and S = X^T X / n; False: the location is the column means.
    formula : {"paper", "sklearn"}
        The intensity formula, see above.
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (``metric.omitted`` lists their positions).

    Returns
    -------
    ShrunkCovariance
        A Metric with ``shrinkage`` (rho), ``mu``, ``method="oas"`` and ``n_samples``.

    Raises
    ------
    ValueError
        For an unknown ``formula`` or bad data.

    See Also
    --------
    ledoit_wolf : Ledoit-Wolf shrinkage towards the same target.
    sklearn.covariance.OAS : scikit-learn's estimator (``formula="sklearn"``).

    References
    ----------
    Y. Chen, A. Wiesel, Y. C. Eldar and A. O. Hero (2010). Shrinkage algorithms for MMSE
    covariance estimation. IEEE Transactions on Signal Processing 58(10), 5016-5029, eq. (23).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> round(mh.fit(X, method="oas").shrinkage, 4)
    0.7355
    >>> round(mh.fit(X, method="oas", formula="sklearn").shrinkage, 4)
    0.79
    """
    assume_centered = check_bool(assume_centered, "assume_centered")
    check_choice(formula, "formula", _OAS_FORMULAS)
    if is_dask(X):
        from .._dask._shrinkage import oas_dask
        return oas_dask(X, assume_centered=assume_centered, formula=formula,
                        nan_policy=nan_policy)
    data, center, S, _ = _scatter_and_fourth_moment(X, nan_policy, bool(assume_centered),
                                                    fourth=False)
    # OAS needs only S (no fourth moments): rescaled exactly, without another pass over X
    k = None if _array_api.is_foreign(S) else _unit_factor(S)
    shrinkage = _oas_shrinkage(S if k is None else S * (k * k), data.values.shape[0], formula)
    return _shrunk_metric(data, center, S, shrinkage, "oas")


# --------------------------------------------------------------------------- ridge
def _check_lams(lams: Any, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(lams, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be a non-empty 1-D sequence of positive finite numbers; "
                         f"got {lams!r}.")
    return arr


def _ridge_grid(S: np.ndarray, lams: Any) -> np.ndarray:
    """The grid searched by cross-validation: ``lams`` checked, or the default grid."""
    if lams is not None:
        return _check_lams(lams, "lams")
    if not _array_api.trace_and_fro2(S)[0] > 0:
        raise ValueError("X has zero variance in every column; give lam directly.")
    return _default_ridge_grid(S)


def _default_ridge_grid(S: np.ndarray) -> np.ndarray:
    """From 1e-6 times the smallest positive variance to 10 times the mean variance, four
    values per decade (the smallest variance matters for columns on very different scales)."""
    d = (_array_api.to_numpy(_array_api.namespace(S).linalg.diagonal(S))  # p numbers
         if _array_api.is_foreign(S) else np.diagonal(S))
    hi = 10.0 * float(d.mean())
    lo = 1e-6 * float(d[d > 0].min())
    decades = np.log10(hi) - np.log10(lo)  # hi / lo overflows for variances 1e-300..1e300
    return np.logspace(np.log10(lo), np.log10(hi), int(np.ceil(4 * decades)) + 1)


def _fold_spectrum(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean m, eigenvalues e (r,) and orthonormal eigenvectors V (p, r) of the training
    covariance (divisor n - 1) on its range; r = p when n > p, else the rank (<= n - 1)."""
    nt, p = A.shape
    if nt > p:
        return _spectrum(*mean_and_cov(A, ddof=1))
    m = A.mean(axis=0)
    _, sv, Vt = np.linalg.svd(A - m, full_matrices=False)
    tol = (sv[0] if sv.size else 0.0) * max(nt, p) * np.finfo(float).eps
    keep = sv > tol
    return m, sv[keep] ** 2 / (nt - 1), Vt[keep].T


def _spectrum(m: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m, eigenvalues clipped at 0, eigenvectors) of a training covariance S."""
    e, V = np.linalg.eigh(S)
    return m, np.maximum(e, 0.0), V


def _heldout_loglik(A_test: np.ndarray, m: np.ndarray, e: np.ndarray, V: np.ndarray,
                    lams: np.ndarray) -> np.ndarray:
    """Sum over held-out rows of log N(x; m, S + lam I) for every lam, from S = V diag(e) V^T.

    With z = V^T (x - m) and the residual r^2 = ||x - m||^2 - ||z||^2 outside the range of V:
    D^2 = sum_j z_j^2 / (e_j + lam) + r^2 / lam and log det = sum_j log(e_j + lam)
    + (p - r) log lam. O(n_test p r) for the whole grid.
    """
    p = A_test.shape[1]
    C = A_test - m
    Z = C @ V
    z2 = Z * Z
    r = V.shape[1]
    if r < p:
        resid = np.maximum(np.einsum("ij,ij->i", C, C) - z2.sum(axis=1), 0.0)
    else:
        resid = np.zeros(C.shape[0])
    inv = 1.0 / (e[:, None] + lams[None, :])                     # (r, L)
    d2 = z2 @ inv + resid[:, None] / lams[None, :]               # (n_test, L)
    logdet = np.log(e[:, None] + lams[None, :]).sum(axis=0) + (p - r) * np.log(lams)
    nt = C.shape[0]
    return -0.5 * (nt * (p * _LOG_2PI + logdet) + d2.sum(axis=0))


def _heldout_loglik_xp(A: Any, train: np.ndarray, test: np.ndarray, lams: np.ndarray
                      ) -> np.ndarray:
    """One fold of :func:`ridge`'s cross-validation on an Array API array, on its device:
    the training spectrum (:func:`_fold_spectrum`: eigendecomposition, or thin SVD when the
    training rows are fewer than p) and :func:`_heldout_loglik` for the whole grid. Only the
    grid's log-likelihoods come back to the host."""
    xp, dev, wd = _array_api.context(A)
    At = xp.astype(A[xp.asarray(train, device=dev)], wd)
    Ate = xp.astype(xp.take(A, xp.asarray(test, device=dev), axis=0), wd)
    nt, p = At.shape
    if nt > p:
        m, S = _array_api.mean_and_cov(At, ddof=1)
        e, V = xp.linalg.eigh(S)
        e = xp.clip(e, min=0.0)
    else:
        m = xp.mean(At, axis=0)
        _, sv, Vt = xp.linalg.svd(At - m, full_matrices=False)
        keep = sv > float(sv[0]) * max(nt, p) * float(xp.finfo(wd).eps)
        e, V = sv[keep] ** 2 / (nt - 1), Vt[keep].T
    C = Ate - m
    Z = C @ V
    z2 = Z * Z
    r = V.shape[1]
    resid = (xp.clip(xp.sum(C * C, axis=1) - xp.sum(z2, axis=1), min=0.0) if r < p
             else xp.zeros(C.shape[0], dtype=wd, device=dev))
    lam = xp.asarray(lams, dtype=wd, device=dev)
    d2 = z2 @ (1.0 / (e[:, None] + lam[None, :])) + resid[:, None] / lam[None, :]
    logdet = xp.sum(xp.log(e[:, None] + lam[None, :]), axis=0) + (p - r) * xp.log(lam)
    out = -0.5 * (C.shape[0] * (p * _LOG_2PI + logdet) + xp.sum(d2, axis=0))
    return _array_api.to_numpy(out).astype(float)


def _check_cv(cv: Any) -> int:
    return check_int(cv, "cv", 2, "the number of folds")


def _check_folds(folds: Any, n: int) -> np.ndarray:
    """Fold labels: integers, one per row, at least two distinct values."""
    labels = np.asarray(folds)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"folds must be an integer array with one fold label per row ({n}); "
                         f"got {labels.dtype} of shape {labels.shape}.")
    if np.unique(labels).size < 2:
        raise ValueError("folds must hold at least two distinct labels (two folds).")
    return labels


def _cv_folds(n: int, cv: Any, rng: np.random.Generator,
              folds: Any = None) -> list[np.ndarray]:
    if folds is not None:
        labels = _check_folds(folds, n)
        return [np.flatnonzero(labels == k) for k in np.unique(labels)]
    cv = _check_cv(cv)
    if cv > n:
        raise ValueError(f"cv={cv} folds need at least {cv} rows; X has {n}. Use fewer folds.")
    if n - -(-n // cv) < 2:
        raise ValueError(f"cv={cv} folds leave fewer than 2 training rows out of {n}; use "
                         "fewer folds or give lam directly.")
    return np.array_split(rng.permutation(n), int(cv))


def _ridge_result(center: np.ndarray, S: np.ndarray, lam: float, grid: np.ndarray | None,
                  scores: np.ndarray | None, **fit: Any) -> RidgeCovariance:
    """The result S + lam I (``fit``: n_samples and data, or feature_names and omitted)."""
    C = _array_api.add_diagonal(S, lam)
    return RidgeCovariance._build(center, cov=C, method="ridge", lam=float(lam), lams=grid,
                                  cv_scores=scores, **fit)


def ridge(X: ArrayLike, *, lam: float | None = None, lams: ArrayLike | None = None, cv: int = 5,
          folds: ArrayLike | None = None, random_state: Any = None,
          nan_policy: str = "raise") -> RidgeCovariance:
    """Ridge-regularised covariance ``S + lam * I``, with lam given or cross-validated.

    S is the sample covariance about the column means (divisor n - 1, like
    :func:`empirical`). With ``lam=None``, lam maximises the K-fold cross-validated Gaussian
    log-likelihood sum_k sum_{i in fold k} log N(x_i; m_{-k}, S_{-k} + lam I) over the grid
    ``lams``. Each fold needs one eigendecomposition of its training covariance (or a thin SVD
    of the training rows when they are fewer than p), after which the whole grid costs
    O(n p r): works for p > n.

    The ridge is added to every variance alike, so the estimator is not scale invariant: put
    columns measured in different units on a common scale first (or use :func:`ledoit_wolf`
    on standardised data).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data (NumPy, pandas or dask).
    lam : float, optional
        The ridge (>= 0; 0 only when S is nonsingular). Default: cross-validated.
    lams : sequence of float, optional
        Positive grid searched when ``lam`` is None. Default: log-spaced from 1e-6 times the
        smallest positive variance to 10 times the mean variance trace(S)/p, four values per
        decade.
    cv : int
        Number of folds (>= 2).
    folds : array-like of int of shape (n,), optional
        The fold of each row (any integer labels, at least two distinct): cross-validation on
        these given folds instead of ``cv`` random ones. For dask input a dask array chunked
        like X's rows (or a numpy array); there, without ``folds``, each block assigns its
        rows to ``cv`` folds from ``random_state`` and the block's position.
    random_state : int or numpy Generator, optional
        Seeds the assignment of rows to folds; same seed, same lam.
    nan_policy : {"raise", "omit"}
        Rows with NaN: an error, or dropped (``metric.omitted`` lists their positions).

    Returns
    -------
    RidgeCovariance
        A Metric with ``lam``, ``lams`` and ``cv_scores`` (mean held-out log-likelihood per
        observation for each grid value), ``method="ridge"`` and ``n_samples``.

    Raises
    ------
    ValueError
        For a negative ``lam``, a bad grid or folds, or ``lam=0`` with a singular S.

    See Also
    --------
    ledoit_wolf : Shrinkage with an analytic intensity (scale invariant on standardised data).
    modified_cholesky : A regularised precision matrix.

    References
    ----------
    A. E. Hoerl and R. W. Kennard (1970). Ridge regression: biased estimation for nonorthogonal
    problems. Technometrics 12(1), 55-67 (the ridge); the cross-validated likelihood choice
    follows e.g. J. Friedman, T. Hastie and R. Tibshirani (2008), Biostatistics 9(3), 432-441.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> r = mh.fit(X, method="ridge", random_state=0)     # lam cross-validated
    >>> round(r.lam, 4), r.cv_scores.shape
    (0.3149, (31,))
    """
    if is_dask(X):
        from .._dask._shrinkage import ridge_dask
        return ridge_dask(X, lam=lam, lams=lams, cv=cv, folds=folds,
                          random_state=random_state, nan_policy=nan_policy)
    xp = _array_api.is_foreign(X)  # Array API input: every pass on its device
    if xp:
        data = _fit_data_xp(X, nan_policy, 2)
        center, S = _array_api.mean_and_cov(data.values, ddof=1)
    else:
        data, mom = sample_moments(X, "X", nan_policy=nan_policy, min_samples=2,
                                   covariance=False)
        center, S = mom.mean, mom.scatter(ddof=1)
    A = data.values
    n = A.shape[0]
    grid: np.ndarray | None = None
    scores: np.ndarray | None = None
    if lam is None:
        grid = _ridge_grid(S, lams)
        rng = check_random_state(random_state)
        total = np.zeros(grid.size)
        for test in _cv_folds(n, cv, rng, folds):
            train = np.ones(n, dtype=bool)
            train[test] = False
            if xp:
                total += _heldout_loglik_xp(A, train, test, grid)
                continue
            m, e, V = _fold_spectrum(A[train])
            total += _heldout_loglik(A[test], m, e, V, grid)
        scores = total / n
        lam = float(grid[int(np.argmax(scores))])
    else:
        lam = check_nonnegative(lam, "lam")
    return _ridge_result(center, S, float(lam), grid, scores, n_samples=n, data=data)
