"""Tyler's M-estimator of shape around the spatial median.

Tyler (1987): the shape V (det 1) solving V = (p / n) sum z_i z_i^T / (z_i^T V^-1 z_i),
z_i = x_i - m, the "most robust" M-estimator of shape for elliptical data (distribution-free
over the elliptical family, like the spatial sign), found by its fixed-point iteration, which
converges from any start when the data are not concentrated on a subspace (Kent & Tyler
1988). The location m is the spatial median. The shape carries no scale: it is scaled so that
the median squared distance is chi2_p(0.5), which makes the scatter consistent at the normal
and its distances comparable with those of the other estimators.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from .._linalg import single_threaded_blas
from .._validation import check_int
from ..errors import SingularCovarianceError
from ._base import FitResult
from ._robust import (
    exact_fit_from_scatter,
    fit_data,
    spatial_median,
    sq_distances,
    sq_distances_fast,
)

__all__ = ["TylerResult", "spatial_median_efficiency", "tyler"]


class TylerResult(FitResult):
    """A fitted Tyler shape around the spatial median: a :class:`~mahalanobis.Metric` and its
    diagnostics.

    Attributes
    ----------
    shape : ndarray
        Tyler's shape, det 1.
    consistency : float
        median(d^2 w.r.t. shape) / chi2_p(0.5): ``cov = consistency * shape``.
    weights : ndarray of shape (n_samples,)
        p / d_i^2 (d w.r.t. the shape), the weights of the fixed point (0 for a point at the
        centre).
    n_iterations : int
        Fixed-point steps of the shape; ``location_iterations`` those of the spatial median.
    converged : bool
    breakdown_point : float
        1/p for the shape (Tyler 1987; Dumbgen & Tyler 2005); 0.5 for the spatial median.
    efficiency : float
        Asymptotic Gaussian efficiency of the spatial median (Brown 1983).

    See Also
    --------
    tyler : The estimator that returns it.
    SpatialSignResult : Another estimator built on the spatial median.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> X = np.random.default_rng(0).standard_normal((100, 3))
    >>> r = mh.fit(X, method="tyler")
    >>> r.converged, round(float(np.linalg.det(r.shape)), 6)    # shape has determinant 1
    (True, 1.0)
    """

    _fields = ("shape", "consistency", "weights", "n_iterations", "location_iterations",
               "converged", "breakdown_point", "efficiency")
    _repr_fields = ("n_iterations", "converged")
    shape: np.ndarray
    consistency: float
    weights: np.ndarray
    n_iterations: int
    location_iterations: int
    converged: bool
    breakdown_point: float
    efficiency: float


def spatial_median_efficiency(p: int) -> float:
    """Asymptotic Gaussian efficiency of the spatial median relative to the mean: 2/pi for
    p = 1, else ((p - 1)^2 / p) E[1/||Z||]^2 (Brown 1983).

    Examples
    --------
    >>> from mahalanobis.covariance.tyler import spatial_median_efficiency
    >>> round(spatial_median_efficiency(2), 4), round(spatial_median_efficiency(5), 4)
    (0.7854, 0.9054)
    """
    if p == 1:
        return 2.0 / math.pi
    e_inv = math.exp(special.gammaln((p - 1) / 2) - special.gammaln(p / 2)) / math.sqrt(2)
    return (p - 1) ** 2 / p * e_inv * e_inv


def tyler_shape(Z: np.ndarray, *, tol: float = 1e-12, max_iter: int = 10_000
                ) -> tuple[np.ndarray, int, bool]:
    """Tyler's fixed point for centred rows Z (rows at 0 dropped): (det-1 shape, iterations,
    converged). Raises SingularCovarianceError when the iterate degenerates (data
    concentrated on a subspace)."""
    n, p = Z.shape
    V = np.eye(p)
    zero = np.zeros(p)
    for it in range(1, max_iter + 1):
        d2 = sq_distances_fast(Z, zero, V)[0]
        W = (Z / d2[:, None]).T @ Z * (p / n)
        W = (W + W.T) / 2
        sign, ld = np.linalg.slogdet(W)
        if not sign > 0:
            raise SingularCovarianceError("Tyler's shape degenerated", min_eigenvalue=0.0)
        W *= math.exp(-ld / p)
        change = float(np.max(np.abs(W - V)))
        V = W
        if change <= tol * float(np.max(np.abs(V))):
            return V, it, True
    return V, max_iter, False


def tyler(X: ArrayLike, *, max_iter: int = 10_000, nan_policy: str = "raise") -> TylerResult:
    """Tyler's (1987) M-estimator of shape around the spatial median, scaled to be consistent
    at the normal.

    Robust to heavy tails (its shape is distribution-free over elliptical distributions) and
    fast, but with a low breakdown point (1/p) against clustered outliers: use it for heavy-
    tailed data, the MCD or an S-estimator for contamination. Orthogonally (not affinely)
    equivariant, because of the spatial median.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, p), n > p
        The data.
    max_iter : int
        Cap on the fixed-point steps (convergence to 1e-12 usually takes tens to a few
        hundred).
    nan_policy : {"raise", "omit"}

    Returns
    -------
    TylerResult

    Raises
    ------
    ExactFitError
        When the data are concentrated on a hyperplane through the centre (the shape does
        not exist: Kent & Tyler 1988).
    SingularCovarianceError
        For n <= p.

    See Also
    --------
    spatial_sign, mcd

    Notes
    -----
    Tyler, D. E. (1987), A distribution-free M-estimator of multivariate scatter, Ann.
    Statist. 15:234-251 (eq. 2.2, the fixed point; Theorem 2.2, convergence); Kent, J. T. &
    Tyler, D. E. (1988), Maximum likelihood estimation for the wrapped Cauchy distribution,
    J. Appl. Statist. 15:247-254 (existence); Vardi, Y. & Zhang, C.-H. (2000), PNAS
    97:1423-1426 (the spatial median's iteration). Consistency: the shape is multiplied by
    median(d^2) / chi2_p(0.5), the rescaling rrcov uses for its S and SDE estimates.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_t(2, size=(500, 3)) @ np.diag([1.0, 2.0, 3.0])   # heavy tails
    >>> r = mh.fit(X, method="tyler")
    >>> sd = np.sqrt(np.diag(r.shape))
    >>> r.converged, np.round(sd / sd[0], 1)          # the true ratios are 1 : 2 : 3
    (True, array([1. , 1.9, 3.1]))
    """
    max_iter = check_int(max_iter, "max_iter", 1)
    data = fit_data(X, nan_policy)
    A = data.values
    n, p = A.shape
    if n <= p:
        raise SingularCovarianceError(
            f"X has {n} rows for {p} features: Tyler's shape needs n_samples > n_features. "
            "Use method='mrcd' or 'ledoit_wolf' for n <= p.", rank=max(n - 1, 0))
    with single_threaded_blas():
        m, loc_it = spatial_median(A)
    Z = A - m
    keep = np.sqrt(np.einsum("ij,ij->i", Z, Z)) > 1e-14 * max(float(np.max(np.abs(Z))), 1e-300)
    if int(keep.sum()) <= p:
        raise SingularCovarianceError(
            f"X has {int(keep.sum())} row(s) away from its spatial median for {p} features "
            "(identical or constant rows): Tyler's shape needs more than n_features directions. "
            "Remove the duplicated rows, or check the data.", rank=int(keep.sum()))
    try:
        with single_threaded_blas():
            V, it, converged = tyler_shape(Z[keep], max_iter=max_iter)
    except SingularCovarianceError:
        S = (Z[keep].T @ Z[keep]) / max(int(keep.sum()), 1)
        raise exact_fit_from_scatter(
            A, m, S, "Tyler shape",
            "Tyler's shape does not exist when a subspace holds too many points; drop the "
            "redundant variable, or use method='mcd'.") from None
    d2 = sq_distances(A, m, V, "Tyler shape")
    f = float(np.median(d2) / stats.chi2.ppf(0.5, p))
    cov = f * V
    w = np.zeros(n)
    w[keep] = p / d2[keep]
    return TylerResult._build(
        m, cov=cov, method="tyler", n_samples=n, data=data, shape=V, consistency=f, weights=w,
        n_iterations=int(it), location_iterations=int(loc_it), converged=bool(converged),
        breakdown_point=1.0 / p, efficiency=spatial_median_efficiency(p))
