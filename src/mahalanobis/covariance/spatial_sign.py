"""The spatial sign covariance matrix (SSCM) around the spatial median, made consistent.

Locantore et al. (1999), Visuri, Koivunen & Oja (2000): the covariance of the unit vectors
u_i = (x_i - m) / ||x_i - m||, m the spatial median. For elliptical data it has the
eigenvectors of the covariance but compressed eigenvalues, so it is made consistent as in
spherical PCA (Locantore et al. 1999; Maronna 2005): keep its eigenvectors and replace its
eigenvalues by squared robust scales (the tau-scale by default) of the data projected on
them. Fast
(O(n p^2)), bounded influence, breakdown point 0.5 for the location and the eigenvectors;
orthogonally, not affinely, equivariant.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import _linalg
from .._linalg import single_threaded_blas
from .._scale import mad, qn, scale_tau2
from .._validation import check_choice
from ..errors import SingularCovarianceError
from ._base import FitResult
from ._robust import exact_fit_from_scatter, fit_data, spatial_median
from .tyler import spatial_median_efficiency

__all__ = ["SpatialSignResult", "spatial_sign"]

_SCALES: dict[str, Any] = {"qn": qn, "mad": mad, "tau2": scale_tau2}


class SpatialSignResult(FitResult):
    """A fitted consistent SSCM: a :class:`~mahalanobis.Metric` and its diagnostics.

    Attributes
    ----------
    sign_covariance : ndarray
        The SSCM itself, (1/n) sum u_i u_i^T (trace 1).
    eigenvectors : ndarray (p, p)
        Its eigenvectors (columns, decreasing eigenvalues).
    scales : ndarray (p,)
        Robust scales of the projections on them: ``cov = E diag(scales^2) E^T``.
    scale : str
        Which robust scale.
    location_iterations : int
        Steps of the spatial median's iteration.
    breakdown_point : float
        0.5 (spatial median and eigenvectors).
    efficiency : float
        Asymptotic Gaussian efficiency of the spatial median.

    See Also
    --------
    spatial_sign : The estimator that returns it.
    TylerResult : Tyler's shape about the spatial median.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> r = mh.fit(X, method="spatial_sign")
    >>> r.scale, r.breakdown_point, r.scales.shape
    ('tau2', 0.5, (3,))
    """

    _fields = ("sign_covariance", "eigenvectors", "scales", "scale", "location_iterations",
               "breakdown_point", "efficiency")
    _repr_fields = ("scale",)
    sign_covariance: np.ndarray
    eigenvectors: np.ndarray
    scales: np.ndarray
    scale: str
    location_iterations: int
    breakdown_point: float
    efficiency: float


def spatial_sign(X: ArrayLike, *, scale: str = "tau2", nan_policy: str = "raise"
                 ) -> SpatialSignResult:
    """Spatial sign covariance matrix around the spatial median, with robust eigenvalues so
    that it is consistent at the normal.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p)
        The data.
    scale : {"tau2", "qn", "mad"}
        Robust scale of the projections on the SSCM's eigenvectors: the tau-scale (default;
        O(n), 80% Gaussian efficiency), Qn (82%, O(n log n) but slower) or the MAD (37%).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    SpatialSignResult

    Raises
    ------
    ExactFitError
        When a projection has robust scale 0 (more than half of the points on a hyperplane).

    See Also
    --------
    tyler, ogk, mcd

    Notes
    -----
    Locantore, N., Marron, J. S., Simpson, D. G., Tripoli, N., Zhang, J. T. & Cohen, K. L.
    (1999), Robust principal component analysis for functional data, Test 8:1-73 (spherical
    PCA); Visuri, S., Koivunen, V. & Oja, H. (2000), Sign and rank covariance matrices,
    J. Statist. Plann. Inference 91:557-575; Vardi & Zhang (2000) for the spatial median.
    Works for p > n (the SSCM has rank at most n - 1 then, and the projections on its null
    space get their robust scales, which are 0 for exactly degenerate directions: an error).

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((2000, 3)) @ np.diag([1.0, 2.0, 4.0])
    >>> r = mh.fit(X, method="spatial_sign")         # consistent at the normal:
    >>> np.round(np.sqrt(np.diag(r.cov)), 1)         # the standard deviations
    array([1., 2., 4.])
    """
    check_choice(scale, "scale", tuple(_SCALES))
    data = fit_data(X, nan_policy)
    A = data.values
    n, p = A.shape
    with single_threaded_blas():
        m, loc_it = spatial_median(A)
    Z = A - m
    r = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    keep = r > 1e-14 * max(float(np.max(r)), 1e-300)
    U = Z[keep] / r[keep, None]
    S = U.T @ U / n
    S = (S + S.T) / 2
    E = np.linalg.eigh(S)[1]
    E = E[:, ::-1]
    P = Z @ E
    sc = np.array([_SCALES[scale](P[:, j]) for j in range(p)])
    if np.any(sc <= 0):
        j = int(np.flatnonzero(sc <= 0)[0])
        a = E[:, j]
        raise exact_fit_from_scatter(
            A, m, np.eye(p) - np.outer(a, a), "spatial sign scatter",
            f"the projection on eigenvector {j} of the SSCM has robust scale 0 (more than "
            "half of the points lie on that hyperplane); drop the redundant variable, or use "
            "method='mrcd'.")
    cov = (E * sc ** 2) @ E.T
    try:
        L = _linalg.cholesky(cov, "spatial sign scatter")
    except SingularCovarianceError:  # pragma: no cover - positive scales make it definite
        raise
    return SpatialSignResult._build(
        m, cov=cov, L=L, method="spatial_sign", n_samples=n, data=data, sign_covariance=S,
        eigenvectors=E, scales=sc, scale=scale, location_iterations=int(loc_it),
        breakdown_point=0.5, efficiency=spatial_median_efficiency(p))
