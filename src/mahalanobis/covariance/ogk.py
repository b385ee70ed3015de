"""Orthogonalized Gnanadesikan-Kettenring (OGK) location and scatter, as rrcov's ``CovOgk``.

Maronna, R. A. & Zamar, R. H. (2002), "Robust estimates of location and dispersion for
high-dimensional datasets", Technometrics 44:307-317. Deterministic, O(n p^2) robust scale
evaluations, positive definite by construction (also for p > n):

1. scale every column by a robust scale s (default the tau-scale, robustbase ``scaleTau2``);
2. U_jk = (s(y_j + y_k)^2 - s(y_j - y_k)^2) / 4, the Gnanadesikan-Kettenring (1972) pairwise
   covariance (their eq. 3), or the quadrant correlation;
3. project on U's eigenvectors E; the scatter of the projections is diagonal (eq. 5), and
   A = diag(s) E maps back; steps 1-3 are repeated (rrcov: twice, "OGK2");
4. raw estimate: the robust locations and variances of the final projections, mapped back and
   scaled so that the median squared distance is chi2_p(0.5);
5. reweighting: weight 1 for points with raw squared distance below chi2_p(beta), weighted
   mean and ML covariance (rrcov's "OGK2(0.9)").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg, stats

from .. import _linalg
from .._linalg import single_threaded_blas
from .._scale import median_rows, tau2_rows
from .._validation import check_bool, check_choice, check_fraction, check_int
from ..errors import ExactFitError, SingularCovarianceError
from ._base import FitResult
from ._mcd_factors import mcd_consistency
from ._robust import RejectionCount, fit_data, weighted_mean_cov

__all__ = ["OGKResult", "ogk"]

_SCALES = ("tau2", "mad", "qn")
_PAIRWISE = ("gk", "qc")


class OGKResult(RejectionCount, FitResult):
    """A fitted OGK: a :class:`~mahalanobis.Metric` (``center``, ``cov``: the reweighted
    estimate, or the raw one with ``reweight=False``) and its diagnostics.

    Attributes
    ----------
    raw_center, raw_cov : ndarray
        The raw OGK estimate (rrcov ``raw.center``, ``raw.cov``): median-rescaled so that the
        median squared distance is chi2_p(0.5).
    raw_distances : ndarray of shape (n_samples,)
        Squared distances w.r.t. the raw estimate (rrcov's ``raw.mah`` is ``consistency_raw``
        times these: it measures against the scatter before the rescaling).
    weights : ndarray of bool, shape (n_samples,)
        Points kept by the reweighting: raw squared distance below chi2_p(beta).
    consistency_raw : float
        c_delta = median(raw distances before rescaling) / chi2_p(0.5).
    consistency_rew : float
        Factor applied to the reweighted scatter: ``.MCDcons(p, beta)`` with
        ``consistency=True``, else 1 (rrcov computes a factor but does not apply it).
    scale, pairwise : str
        The univariate scale and the pairwise covariance used.
    n_iterations : int
        Orthogonalisation steps (rrcov ``niter``).
    beta : float
        Reweighting quantile.
    breakdown_point : float
        0.5 for the raw pairwise scatter matrix with the tau, MAD or Qn scale (Maronna & Zamar
        2002, Sect. 3); the OGK has no proven multivariate breakdown point and is not affine
        equivariant (only orthogonal and scale equivariant).
    reweighted : bool
        Whether the reweighting step ran.

    See Also
    --------
    ogk : The estimator that returns it.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> X[:5] += 6
    >>> r = mh.fit(X, method="ogk")
    >>> r.scale, r.beta, bool(r.outliers(X[:5]).all())
    ('tau2', 0.9, True)
    """

    _fields = ("raw_center", "raw_cov", "raw_distances", "weights", "consistency_raw",
               "consistency_rew", "scale", "pairwise", "n_iterations", "beta",
               "breakdown_point", "reweighted")
    _repr_fields = ("scale", "beta", "n_outliers", "reweighted")
    raw_center: np.ndarray
    raw_cov: np.ndarray
    raw_distances: np.ndarray
    weights: np.ndarray
    consistency_raw: float
    consistency_rew: float
    scale: str
    pairwise: str  # type: ignore[assignment]  # a result field (shadows Metric.pairwise)
    n_iterations: int
    beta: float
    breakdown_point: float
    reweighted: bool


def _location_scale_rows(M: np.ndarray, scale: str) -> tuple[np.ndarray, np.ndarray]:
    """(location, scale) of every row of M for the chosen univariate scale."""
    if scale == "tau2":
        return tau2_rows(M)
    med = median_rows(M)
    if scale == "mad":
        return med, 1.4826 * median_rows(np.abs(M - med[:, None]))
    from .._scale import qn
    return med, np.array([qn(row) for row in M])


def _pairwise_matrix(YT: np.ndarray, scale: str, pairwise: str) -> np.ndarray:
    """U with unit diagonal and U_jk the GK covariance (or quadrant correlation) of the
    standardised columns j, k (rows of YT), the pairs in blocks of about 2 MB."""
    p, n = YT.shape
    U = np.eye(p)
    I, J = np.triu_indices(p, 1)
    if pairwise == "qc":
        sgn = np.sign(YT - median_rows(YT)[:, None])
    step = max(1, (1 << 18) // max(n, 1))
    for a in range(0, I.size, step):
        i, j = I[a:a + step], J[a:a + step]
        if pairwise == "gk":
            # s(y_j - y_i) = s(y_i - y_j) exactly: every scale here is symmetric
            _, sp = _location_scale_rows(YT[i] + YT[j], scale)
            _, sm = _location_scale_rows(YT[i] - YT[j], scale)
            u = (sp * sp - sm * sm) / 4.0
        else:  # rrcov's qc: sin(pi/2 r), r from the signs about the medians
            prod = sgn[i] * sgn[j]
            concord = (prod > 0).sum(axis=1)
            discord = (prod < 0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (concord - discord) / (concord + discord)
            u = np.sin(np.pi / 2 * np.nan_to_num(r))
        U[i, j] = U[j, i] = u
    return U


def _zero_scale_error(X: np.ndarray, a: np.ndarray, what: str) -> ExactFitError:
    a = a / np.linalg.norm(a)
    k = int(np.flatnonzero(np.abs(a) > 1e-12 * np.max(np.abs(a)))[0])
    if a[k] < 0:
        a = -a
    proj = X @ a
    b = float(np.median(proj))
    on = np.abs(proj - b) <= 1e-9 * max(float(np.max(np.abs(proj))), 1.0)
    return ExactFitError(
        f"X: {int(on.sum())} of {X.shape[0]} observations have the same value {b:.6g} of "
        f"{what}, so its robust scale is 0 and OGK cannot standardise it (they lie on the "
        f"hyperplane a @ x = {b:.6g}, a = {np.array2string(a, precision=5)}). Drop or jitter "
        "that variable (it carries no information for a distance), or use method='mrcd'.",
        hyperplane=a, offset=b, on_hyperplane=on, rank=X.shape[1] - 1)


def ogk_raw(X: np.ndarray, *, n_iterations: int = 2, scale: str = "tau2",
            pairwise: str = "gk") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The raw OGK before the median rescaling: (t0, V0, dist2) with dist2 the squared
    distances w.r.t. (t0, V0), computed on the projections (Maronna & Zamar 2002, eq. 5)."""
    p = X.shape[1]
    ZT = np.ascontiguousarray(X.T)                  # columns as rows: fast row selections
    A = np.eye(p)
    for it in range(n_iterations):
        _, d = _location_scale_rows(ZT, scale)
        # the raw columns (first round) may have any units: only a zero scale is degenerate;
        # later rounds see standardised projections, where 1e-12 is relative
        bad = np.flatnonzero(np.abs(d) <= (1e-12 if it else 0.0))
        if bad.size:  # the projections ZT are X A^-T
            raise _zero_scale_error(X, np.linalg.solve(A.T, np.eye(p)[:, bad[0]]),
                                    f"column {bad[0]}" if it == 0 else
                                    "a direction found by OGK")
        YT = ZT / d[:, None]
        U = _pairwise_matrix(YT, scale, pairwise)
        _, E = linalg.eigh(U)
        E = E[:, ::-1]                              # decreasing eigenvalues, as rrcov
        A = A @ (d[:, None] * E)
        ZT = E.T @ YT
    m, g = _location_scale_rows(ZT, scale)
    bad = np.flatnonzero(g < 1e-300)
    if bad.size:
        raise _zero_scale_error(X, np.linalg.solve(A.T, np.eye(p)[:, bad[0]]),
                                "a direction found by OGK")
    dist2 = np.sum(((ZT - m[:, None]) / g[:, None]) ** 2, axis=0)
    V0 = (A * (g * g)) @ A.T
    return A @ m, (V0 + V0.T) / 2.0, dist2


def ogk(X: ArrayLike, *, n_iterations: int = 2, beta: float = 0.9, scale: str = "tau2",
        pairwise: str = "gk", reweight: bool = True, consistency: bool = True,
        nan_policy: str = "raise") -> OGKResult:
    """Orthogonalized Gnanadesikan-Kettenring estimate (Maronna & Zamar 2002), as rrcov
    ``CovOgk``.

    Deterministic and fast (O(n p^2)); positive definite for any n and p (the raw estimate),
    robust to a large share of outliers in practice, but not affine equivariant: rotating or
    shearing the data changes which points it downweights (orthogonal and scale equivariance
    hold).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data.
    n_iterations : int
        Orthogonalisation steps (rrcov ``niter``, 2).
    beta : float in (0, 1)
        Reweighting quantile: points with raw squared distance below chi2_p(beta) keep weight 1
        (rrcov ``beta``, 0.9).
    scale : {"tau2", "mad", "qn"}
        Univariate robust scale: the tau-scale (rrcov's default ``scaleTau2``), the MAD
        (rrcov ``smrob = "s_mad"``) or Qn (robustbase ``covOGK(sigmamu = s_Qn)``).
    pairwise : {"gk", "qc"}
        Gnanadesikan-Kettenring covariance (default) or quadrant correlation (rrcov
        ``svrob``).
    reweight : bool
        Return the reweighted estimate (default) or the raw one. The reweighted scatter is
        singular when no more than p points keep weight 1 (always when p >= n): use
        ``reweight=False`` there.
    consistency : bool
        Scale the reweighted scatter by ``.MCDcons(p, beta)``, the factor that makes the
        covariance of the normal points inside the chi2_p(beta) ellipsoid consistent (default).
        ``False`` reproduces rrcov 1.7-2, which computes a factor but does not apply it: its
        scatter is then too small by that factor (e.g. 1/1.18 for p = 5) and flags too many
        points at a chi-squared cutoff.
    nan_policy : {"raise", "omit"}

    Returns
    -------
    OGKResult

    Raises
    ------
    ExactFitError
        When more than half of the values of a column (or of a direction OGK projects on) are
        equal: its robust scale is 0.
    SingularCovarianceError
        For a singular reweighted scatter (advice: ``reweight=False``).
    ValueError
        For bad arguments.

    See Also
    --------
    mcd, mrcd, s_estimator

    Notes
    -----
    Maronna & Zamar (2002), Technometrics 44:307-317: eq. (3) the pairwise covariance,
    eq. (5) the orthogonalised estimate, Sect. 4 the tau-scale and the reweighting. Equal to
    rrcov 1.7-2 ``CovOgk`` to rounding (raw estimate, weights, and the reweighted estimate
    with ``consistency=False``; tests/reference/data/robust_*.json). The raw scatter is
    ``c_delta A diag(g^2) A^T`` with c_delta = median(d^2) / chi2_p(0.5). rrcov's ``C`` code
    overruns a buffer for p > n; its R path, reproduced here for any p, is used for the p > n
    fixtures.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 3))
    >>> X[:10] += 6                                 # 10% far outliers
    >>> r = mh.fit(X, method="ogk")
    >>> r.scale, r.n_outliers, bool(np.all(r.distance(X[:10]) > 4))
    ('tau2', 15, True)
    """
    reweight = check_bool(reweight, "reweight")
    consistency = check_bool(consistency, "consistency")
    n_iterations = check_int(n_iterations, "n_iterations", 1)
    beta = check_fraction(beta, "beta")
    check_choice(scale, "scale", _SCALES)
    check_choice(pairwise, "pairwise", _PAIRWISE)
    data = fit_data(X, nan_policy)
    A = data.values
    n, p = A.shape
    if p < 2:
        raise ValueError("X has one column: OGK needs at least 2 (for one variable use "
                         "mahalanobis.covariance.scale_tau2 or method='mcd').")
    with single_threaded_blas():
        t0, V0, dist2 = ogk_raw(A, n_iterations=n_iterations, scale=scale, pairwise=pairwise)
    c_delta = float(np.median(dist2) / stats.chi2.ppf(0.5, p))
    raw_cov = c_delta * V0
    raw_d2 = dist2 / c_delta
    w = raw_d2 < stats.chi2.ppf(beta, p)
    c_rew = 1.0
    center, cov = t0, raw_cov
    if reweight:
        if w.sum() <= p:
            raise SingularCovarianceError(
                f"only {int(w.sum())} of {n} points keep weight 1 in OGK's reweighting step "
                f"for p = {p} features, so the reweighted scatter is singular. Use "
                "reweight=False for the raw OGK estimate (positive definite for any n and p), "
                "or a larger beta.", rank=int(w.sum()) - 1)
        center, cov = weighted_mean_cov(A, w.astype(float))
        if consistency:
            c_rew = mcd_consistency(p, beta)
            cov = cov * c_rew
    L = _linalg.cholesky(cov, "OGK scatter")
    return OGKResult._build(
        center, cov=cov, L=L, method="ogk", n_samples=n, data=data, raw_center=t0,
        raw_cov=raw_cov, raw_distances=raw_d2, weights=w, consistency_raw=c_delta,
        consistency_rew=float(c_rew), scale=scale, pairwise=pairwise,
        n_iterations=n_iterations, beta=beta, breakdown_point=0.5,
        reweighted=bool(reweight))

