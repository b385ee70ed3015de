"""Pieces shared by the robust estimators beyond MCD (OGK, S, MM, MVE, SDE, Tyler, SSCM).

* :func:`fit_data` -- the checked data of a fit (``nan_policy`` "raise" or "omit");
* :func:`require_rows` -- the n > p + 1 rule of rrcov's affine-equivariant estimators, with
  advice that works; :func:`affine_fit_data` -- both, for MVE, S, MM and SDE;
* :func:`sq_distances` -- squared distances to (center, scatter) by one Cholesky factor;
* :func:`weighted_mean_cov` -- weighted location and scatter; :func:`unit_det` -- a scatter
  scaled to determinant 1;
* :func:`spatial_median` -- the L1 median by Weiszfeld's iteration with the Vardi-Zhang step
  (a data point as the median is handled exactly);
* :func:`exact_fit_from_scatter` -- the ExactFitError of a singular robust scatter: the
  hyperplane holding the points that determine it.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _linalg
from .._validation import Data, as_data, check_nan_policy, check_spread
from ..errors import ExactFitError, SingularCovarianceError

__all__ = ["RejectionCount", "affine_fit_data", "exact_fit_from_scatter", "fit_data",
           "require_rows", "spatial_median", "sq_distances", "sq_distances_fast", "unit_det",
           "weighted_mean_cov"]


class RejectionCount:
    """``n_outliers`` of results whose boolean ``weights`` mark the points kept by a hard
    rejection step."""

    weights: np.ndarray

    @property
    def n_outliers(self) -> int:
        """Number of points given weight 0 by the reweighting step."""
        return int((~np.asarray(self.weights)).sum())


def fit_data(X: object, nan_policy: str, min_samples: int = 2) -> Data:
    check_nan_policy(nan_policy, ("raise", "omit"))
    data = as_data(X, "X", nan_policy=nan_policy, min_samples=min_samples)
    check_spread(data)  # variances float64 can hold
    return data


def require_rows(n: int, p: int, method: str) -> None:
    """rrcov's rule for its affine-equivariant estimators: n > p + 1."""
    if n <= p + 1:
        raise SingularCovarianceError(
            f"X has {n} rows for {p} features: method={method!r} needs n_samples > "
            "n_features + 1 (and works best with n > 2 p). For n <= p + 1 use method='ogk' "
            "with reweight=False (positive definite for any n and p), method='mrcd', "
            "'ledoit_wolf' or 'modified_cholesky'.", rank=min(n - 1, p))


def affine_fit_data(X: object, nan_policy: str, method: str) -> tuple[Data, np.ndarray]:
    """The checked data of an affine-equivariant estimator and its values, with rrcov's
    n > p + 1 rule applied (``fit_data`` then ``require_rows``)."""
    data = fit_data(X, nan_policy)
    n, p = data.values.shape
    require_rows(n, p, method)
    return data, data.values


def sq_distances(X: np.ndarray, center: np.ndarray, cov: np.ndarray,
                 name: str = "scatter") -> np.ndarray:
    """Squared Mahalanobis distances of the rows of X (Cholesky, triangular multiply)."""
    L = _linalg.cholesky(cov, name)
    W = _linalg.inverse_triangular(L, lower=True)
    return _linalg.sq_norms_of_whitened(X, center, W, True)


def sq_distances_fast(X: np.ndarray, center: np.ndarray, V: np.ndarray
                      ) -> tuple[np.ndarray, float]:
    """Squared distances to (center, V) and log det V for the inner loops of the iterative
    estimators: numpy's Cholesky without the condition estimate of :func:`sq_distances`
    (a failed factorisation is a SingularCovarianceError)."""
    try:
        L = np.linalg.cholesky(V)
    except np.linalg.LinAlgError:
        raise SingularCovarianceError("the scatter became singular during the iteration",
                                      min_eigenvalue=0.0) from None
    d = np.diagonal(L)
    if not np.all(d > 1e-150 * max(float(d.max()), 1e-300)):
        raise SingularCovarianceError("the scatter became singular during the iteration",
                                      min_eigenvalue=0.0)
    Z = (X - center) @ np.linalg.inv(L).T
    return np.einsum("ij,ij->i", Z, Z), float(2.0 * np.sum(np.log(d)))


def weighted_mean_cov(X: np.ndarray, w: np.ndarray, divisor: float | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """sum w x / sum w and sum w (x - m)(x - m)^T / divisor (default sum w)."""
    sw = float(w.sum())
    m = (w @ X) / sw
    E = X - m
    S = (E * w[:, None]).T @ E / (sw if divisor is None else divisor)
    return m, (S + S.T) / 2.0


def unit_det(V: np.ndarray) -> np.ndarray:
    """V scaled to determinant 1: V * exp(-log det(V) / p) (the shape of an S or MM step)."""
    return V * math.exp(-float(np.linalg.slogdet(V)[1]) / V.shape[0])


def spatial_median(X: np.ndarray, *, tol: float = 1e-12, max_iter: int = 1000
                   ) -> tuple[np.ndarray, int]:
    """The spatial (L1) median argmin_m sum ||x_i - m|| and the number of iterations.

    Weiszfeld's iteration with the modification of Vardi & Zhang (2000, PNAS 97:1423-1426),
    which stays correct when the iterate reaches a data point (the plain iteration divides by
    zero there); started at the coordinatewise median, stopped when the step is below ``tol``
    times the data's spread."""
    n = X.shape[0]
    m = np.median(X, axis=0)
    spread = float(np.max(np.abs(X - m))) or 1.0
    for it in range(1, max_iter + 1):
        D = X - m
        r = np.sqrt(np.einsum("ij,ij->i", D, D))
        zero = r <= 1e-14 * spread
        w = np.zeros(n)
        w[~zero] = 1.0 / r[~zero]
        T = (w @ X) / w.sum()
        eta = int(zero.sum())
        if eta:
            R = w @ D               # sum (x_i - m) / r_i over the other points
            rn = float(np.sqrt(R @ R))
            g = min(1.0, eta / rn) if rn > 0 else 1.0
            new = (1.0 - g) * T + g * m
        else:
            new = T
        step = float(np.max(np.abs(new - m)))
        m = new
        if step <= tol * spread:
            return m, it
    return m, max_iter


def points_on_hyperplane(X: np.ndarray, a: np.ndarray, point: np.ndarray
                         ) -> tuple[float, np.ndarray]:
    """Offset b of the hyperplane a @ x = b through ``point`` and the mask of the rows of X on
    it (to 1e-9 of the data's spread around that point)."""
    b = float(a @ point)
    scale = max(float(np.max(np.abs(X - point))), 1.0)
    return b, np.abs(X @ a - b) <= 1e-9 * scale


def exact_fit_from_scatter(X: np.ndarray, center: np.ndarray, S: np.ndarray, what: str,
                           advice: str) -> ExactFitError:
    """An ExactFitError for a singular robust scatter S around ``center``: the hyperplane
    through ``center`` normal to S's null direction, and the points on it."""
    ev, V = np.linalg.eigh((S + S.T) / 2)
    a = V[:, 0]
    k = int(np.flatnonzero(np.abs(a) > 1e-12 * np.max(np.abs(a)))[0])
    if a[k] < 0:
        a = -a
    b, on = points_on_hyperplane(X, a, center)
    return ExactFitError(
        f"X: {int(on.sum())} of {X.shape[0]} observations lie on the hyperplane a @ x = "
        f"{b:.6g} with a = {np.array2string(a, precision=5)}, so the {what} is singular. The "
        f"error's `hyperplane`, `offset` and `on_hyperplane` describe it; {advice}",
        hyperplane=a, offset=b, on_hyperplane=on,
        rank=int(np.sum(ev > ev[-1] * X.shape[1] * np.finfo(float).eps)))
