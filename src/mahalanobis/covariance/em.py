"""EM for the multivariate normal with missing cells: the maximum-likelihood mean and
covariance under missing-at-random."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _linalg, _missing
from .._progress import progress_bar
from .._validation import (
    as_data,
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_spread,
)
from ..errors import SingularCovarianceError
from ._base import FitResult

__all__ = ["EMResult", "em"]

_LOG_2PI = float(np.log(2 * np.pi))


class EMResult(FitResult):
    """A fitted EM estimate: a :class:`~mahalanobis.Metric` (``center``, ``cov``: the
    maximum-likelihood mean and covariance, divisor n) with the fit's diagnostics.

    Attributes
    ----------
    n_iter : int
        EM iterations taken.
    converged : bool
        Whether the largest change of a parameter in the last iteration (means in units of
        their standard deviation, covariances in units of the product of the two standard
        deviations) fell below ``tol``.
    loglik : float
        Observed-data log-likelihood at the estimate (the quantity EM maximises; with
        ``reg > 0`` the ridge makes it a penalised estimate, and this is the likelihood at it).
    loglik_trace : ndarray
        Observed-data log-likelihood at the start of each iteration (non-decreasing for
        ``reg = 0``), then at the estimate.
    n_observed : ndarray of int, shape (n_samples,)
        Number of observed coordinates of each row.
    missing_fraction : float
        Share of the cells that are missing.
    n_complete : int
        Rows with no missing cell.
    n_patterns : int
        Distinct missingness patterns.
    missing_per_column : ndarray of int, shape (p,)
        Missing cells per column.
    reg, reg_ : float
        The relative ridge asked for and the absolute ridge ``reg * trace(S) / p`` added to the
        diagonal at the last M-step.

    See Also
    --------
    em : The estimator that returns it.
    mahalanobis.Metric.distance : Distances, with ``nan_policy="marginal"`` for incomplete rows.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> X[::7, 1] = np.nan                      # every seventh row misses column 1
    >>> r = mh.covariance.em(X)
    >>> r.converged, r.n_complete, r.n_patterns
    (True, 171, 2)
    """

    _fields = ("n_iter", "converged", "loglik", "loglik_trace", "n_observed",
               "missing_fraction", "n_complete", "n_patterns", "missing_per_column", "reg",
               "reg_")
    _repr_fields = ("n_iter", "converged", "loglik", "missing_fraction", "n_patterns")
    n_iter: int
    converged: bool
    loglik: float
    loglik_trace: np.ndarray
    n_observed: np.ndarray
    missing_fraction: float
    n_complete: int
    n_patterns: int
    missing_per_column: np.ndarray
    reg: float
    reg_: float


def _start(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starting values: the observed means and variances, zero covariances."""
    center = np.nanmean(A, axis=0)
    var = np.nanvar(A, axis=0)
    return center, np.diag(np.where(var > 0, var, 1.0))


def em_fit(A: np.ndarray, rows: _missing.MissingRows, *, reg: float = 0.0,
           max_iter: int = 1000, tol: float = 1e-8, start: Any = None,
           bar: Any = None) -> dict[str, Any]:
    """The EM iterations on a checked array (NaN = missing); ``start`` = (center, cov).

    E-step: each row's missing cells by their conditional mean, and the conditional
    covariances summed (:func:`mahalanobis._missing.conditional`); M-step: mean and covariance
    (divisor n) of the completed rows plus that sum, then the ridge. The complete rows' mean
    and centred scatter are computed once and merged with the completed rows' at each
    iteration (Chan et al.'s pairwise update, exact). Returns center, cov, L, n_iter,
    converged, loglik, trace and reg_."""
    n, p = A.shape
    center, S = _start(A) if start is None else (np.asarray(start[0], float),
                                                  np.asarray(start[1], float))
    comp = rows.complete
    n_c = int(comp.sum())
    Ac = A if n_c == n else A[comp]
    if n_c:
        mean_c = Ac.mean(axis=0)
        Vc = Ac - mean_c
        M2_c = Vc.T @ Vc
        del Vc
    Ap = A[~comp] if n_c else A
    rows_p = _missing.missing_rows(Ap) if n_c < n else None
    n_p = n - n_c
    trace: list[float] = []
    converged = False
    ridge = 0.0
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        L = _factor(S, reg)
        W = _linalg.inverse_triangular(L, lower=True)
        ll = 0.0
        if n_c:
            d2 = _linalg.sq_distances(Ac, center, W, True)[0]
            ll += -0.5 * (n_c * (p * _LOG_2PI + _linalg.log_det_from_cholesky(L))
                          + float(d2.sum()))
        if rows_p is not None:
            E = _missing.conditional(Ap, rows_p, center, _missing.precision_of(W),
                                     want_cov_sum=True, L=L)
            ll += float(E["loglik"].sum())
            Xh = E["X_hat"]
            mean_p = Xh.mean(axis=0)
            V = Xh - mean_p
            M2_p = V.T @ V + E["cov_sum"]
            if n_c:
                delta = mean_p - mean_c
                new_center = mean_c + delta * (n_p / n)
                M2 = M2_c + M2_p + np.outer(delta, delta) * (n_c * n_p / n)
            else:
                new_center, M2 = mean_p, M2_p
        else:
            new_center, M2 = mean_c, M2_c
        trace.append(ll)
        new_S = M2 / n
        new_S = (new_S + new_S.T) / 2
        if reg > 0:
            ridge = reg * float(np.trace(new_S)) / p
            new_S[np.diag_indices(p)] += ridge
        sd = np.sqrt(np.maximum(np.diagonal(new_S), np.finfo(float).tiny))
        change = max(float(np.max(np.abs(new_center - center) / sd)),
                     float(np.max(np.abs(new_S - S) / np.outer(sd, sd))))
        center, S = new_center, new_S
        if bar is not None:
            bar.update(1)
        if change < tol:
            converged = True
            break
    L = _factor(S, reg)
    loglik = float(_missing.observed_loglik(A, rows, center, L).sum())
    trace.append(loglik)
    return dict(center=center, cov=S, L=L, n_iter=n_iter, converged=converged, loglik=loglik,
                trace=np.array(trace), reg_=ridge)


def _factor(S: np.ndarray, reg: float) -> np.ndarray:
    try:
        return _linalg.cholesky(S, "EM covariance")
    except SingularCovarianceError as exc:
        hint = "" if reg > 0 else " Pass a ridge, e.g. reg=1e-3 (relative to the mean variance)."
        raise SingularCovarianceError(
            f"{exc} The EM covariance became singular (too few rows observing some columns, "
            f"or collinear columns).{hint}", rank=getattr(exc, "rank", None),
            min_eigenvalue=getattr(exc, "min_eigenvalue", None)) from None


def em(X: Any, *, reg: float = 0.0, max_iter: int = 1000, tol: float = 1e-8,
       progress: bool = False, nan_policy: str = "em") -> EMResult:
    """Maximum-likelihood mean and covariance of multivariate normal data with missing cells.

    The EM algorithm (Dempster, Laird & Rubin 1977; Little & Rubin 2002, section 11.2) under
    missing-at-random: NaN cells are missing, every row contributes the likelihood of its
    observed coordinates. The estimate is what R's ``norm::em.norm`` and ``mvnmle::mlest``
    compute.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        NaN marks a missing cell; infinite values are an error.
    reg : float, default 0
        Relative ridge: ``reg * trace(S) / p`` is added to the diagonal at each M-step
        (penalised likelihood; for p close to the number of rows observing a column).
    max_iter : int, default 1000
        Most EM iterations.
    tol : float, default 1e-8
        Stop when no mean moves by more than ``tol`` of its standard deviation and no
        covariance by more than ``tol`` of the product of the two standard deviations.
    progress : bool
        Show a tqdm progress bar (one step per iteration; needs ``mahalanobis[progress]``).
    nan_policy : {"em", "omit"}
        ``"em"``: keep incomplete rows (the point of this estimator). ``"omit"``: drop them
        first (then the estimate is the complete-case mean and covariance, divisor n).

    Returns
    -------
    EMResult
        The fitted metric (ML estimates, covariance with divisor n) with ``n_iter``,
        ``converged``, ``loglik``, ``loglik_trace`` and the missingness summary
        (``n_observed`` per row, ``missing_fraction``, ``n_complete``, ``n_patterns``,
        ``missing_per_column``).

    Raises
    ------
    ValueError
        When a column is never observed (or only once), when two columns are never observed
        together (their covariance is not identified), for infinite values, or for bad
        arguments.
    SingularCovarianceError
        When the covariance becomes singular (pass ``reg``).

    See Also
    --------
    mahalanobis.Metric.distance : ``nan_policy="marginal"`` judges incomplete rows on their
        observed coordinates.
    mahalanobis.Metric.impute : conditional-mean imputation under a fitted metric.
    mahalanobis.covariance.mcd : ``nan_policy="em"`` for a robust fit with missing cells.

    Notes
    -----
    The E-step is vectorised over rows: with P = S^-1 partitioned by a row's observed (o) and
    missing (m) coordinates, the conditional mean is m_m - (P_mm)^-1 P_mo (x_o - m_o) and the
    conditional covariance (P_mm)^-1, inverted once per distinct pattern
    (:mod:`mahalanobis._missing`). The observed-data log-likelihood is computed in the same
    pass. With no missing cell, one iteration gives the sample mean and covariance (divisor n)
    and the second confirms convergence.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0, 0, 0], [[1, .5, .2], [.5, 1, .3], [.2, .3, 1]], 200)
    >>> X[rng.random(X.shape) < 0.1] = np.nan
    >>> r = mh.fit(X, method="em")
    >>> r.converged, r.n_complete
    (True, 147)
    >>> np.round(r.center, 2)
    array([ 0.06,  0.12, -0.04])
    """
    progress = check_bool(progress, "progress")
    check_choice(nan_policy, "nan_policy", ("em", "omit"))
    reg = check_nonnegative(reg, "reg")
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_nonnegative(tol, "tol")
    data = as_data(X, "X", nan_policy="omit" if nan_policy == "omit" else "propagate",
                   min_samples=2)
    check_spread(data)  # variances float64 can hold (missing cells are skipped)
    A = data.values
    rows = _missing.missing_rows(A)
    _missing.check_pairs_observed(A, data.columns)
    bar = progress_bar(progress, desc="EM", unit="iter")
    try:
        with _linalg.single_threaded_blas():  # n x p by p x p products: threads only contend
            out = em_fit(A, rows, reg=reg, max_iter=max_iter, tol=tol, bar=bar)
    finally:
        bar.close()
    summ = _missing.summary(rows)
    return EMResult._build(
        out["center"], cov=out["cov"], L=out["L"], method="em", n_samples=A.shape[0],
        data=data, n_iter=int(out["n_iter"]), converged=bool(out["converged"]),
        loglik=out["loglik"], loglik_trace=out["trace"], n_observed=rows.n_observed,
        missing_fraction=float(summ.missing_fraction), n_complete=summ.n_complete,
        n_patterns=summ.n_patterns, missing_per_column=summ.missing_per_column,
        reg=float(reg), reg_=float(out["reg_"]))
