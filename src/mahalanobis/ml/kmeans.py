"""`MahalanobisKMeans`: k-means with cluster-specific (or shared) Mahalanobis metrics."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin

from .. import _linalg
from .._validation import (
    check_choice,
    check_fraction,
    check_int,
    check_random_state,
    check_spread,
)
from ..errors import ArgumentTypeError
from ..metric import Metric
from ._common import fitted_rows, validate_data

__all__ = ["MahalanobisKMeans"]

_COVARIANCES = ("per_cluster", "shared")


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, (float, np.floating)):  # a whole float is no count here (sklearn)
        raise ArgumentTypeError(f"{name} must be an integer >= {low}; got {value!r}.")
    return check_int(value, name, low)


def _sq_dist(Z: np.ndarray, c: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z - c)^T M^-1 (z - c) for every row, and the lower Cholesky factor of M."""
    L = _linalg.cholesky(M, "cluster scatter")
    W = _linalg.inverse_triangular(L, lower=True)
    return _linalg.sq_norms_of_whitened(Z, c, W, lower=True), L


def _kmeanspp(Z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007), greedy with 2 + log k trials per step
    as in scikit-learn; Z is in globally whitened coordinates, so this is the global
    Mahalanobis metric."""
    n = Z.shape[0]
    trials = 2 + int(np.log(k))
    sq = np.einsum("ij,ij->i", Z, Z)
    idx = [int(rng.integers(n))]
    closest = np.maximum(sq + sq[idx[0]] - 2 * Z @ Z[idx[0]], 0.0)
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:
            cand = rng.integers(n, size=trials)
        else:
            cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * total)
            cand = np.minimum(cand, n - 1)
        d = np.maximum(sq[None, :] + sq[cand][:, None] - 2 * Z[cand] @ Z.T, 0.0)
        new = np.minimum(closest[None, :], d)
        best = int(np.argmin(new.sum(axis=1)))
        idx.append(int(cand[best]))
        closest = new[best]
    return Z[idx].copy()


class MahalanobisKMeans(TransformerMixin, ClusterMixin, BaseEstimator):
    """k-means in the Mahalanobis metric, each cluster with its own (regularised) scatter.

    Alternates: (1) assign each point to the cluster of smallest squared distance
    ``(x - c_k)^T M_k^-1 (x - c_k)``; (2) re-estimate centres c_k and scatters. The metrics are
    normalised to a common determinant, ``M_k = Sigma_k / det(Sigma_k)^(1/p)``, so a cluster
    cannot win points by growing: this is the criterion of Maronna & Jacovkis (1974) (with
    ``covariance="shared"`` it is Friedman & Rubin's (1967) det W criterion), and it lets
    clusters differ in shape and orientation while keeping their volumes comparable.

    Scatter regularisation keeps clusters from collapsing onto a line or a point: each cluster
    scatter S_k is shrunk towards the pooled within-cluster scatter W,
    ``Sigma_k = (1 - l_k) S_k + l_k W + reg * I`` with ``l_k = p / (n_k + p)`` (more
    shrinkage for small clusters), clusters with at most p points use W itself (the minimum
    cluster size for an own scatter is p + 1), and an empty cluster is re-seeded at the
    worst-fitting point. For ``"per_cluster"``, every other run first iterates with the shared
    metric and continues with cluster metrics from that solution; the others use cluster
    metrics from the start. All work is done in coordinates whitened by the global covariance,
    where ``reg * I`` is a ridge relative to the data's own scale; seeding is k-means++
    (Arthur & Vassilvitskii 2007) in that global Mahalanobis metric.

    Parameters
    ----------
    n_clusters : int, default=8
    covariance : {"per_cluster", "shared"}, default="per_cluster"
    n_init : int, default=10
        Runs from different seeds; the one of smallest ``inertia_`` is kept.
    max_iter : int, default=100
    tol : float, default=1e-4
        Convergence when the centres move less than ``tol`` (sum of squared shifts in globally
        whitened coordinates, divided by p), or when no label changes.
    reg : float, default=1e-6
        Ridge (relative to the global covariance) added to every cluster scatter.
    random_state : int, Generator or None, default=None

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, p)
    covariances_ : ndarray of shape (n_clusters, p, p)
        Regularised scatter Sigma_k of each cluster (before determinant normalisation).
    labels_ : ndarray of shape (n,)
    inertia_ : float
        Sum over points of the squared distance to their centre under the
        determinant-normalised metrics, in globally whitened coordinates (the criterion).
    n_iter_ : int
        Iterations of the best run.

    References
    ----------
    Maronna, R. & Jacovkis, P. M. (1974). Multivariate clustering procedures with variable
    metrics. Biometrics 30, 499-505.
    Friedman, H. P. & Rubin, J. (1967). On some invariant criteria for grouping data. JASA 62,
    1159-1178.
    Melnykov, I. & Melnykov, V. (2014). On K-means algorithm with the use of Mahalanobis
    distances. Statistics & Probability Letters 84, 88-95.
    Arthur, D. & Vassilvitskii, S. (2007). k-means++: the advantages of careful seeding. SODA.

    See Also
    --------
    sklearn.cluster.KMeans : Euclidean k-means.
    MahalanobisWhitener : Whitening in front of KMeans (one global metric).
    sklearn.mixture.GaussianMixture : Soft clustering with per-cluster covariances.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.ml import MahalanobisKMeans
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((60, 2)) * [3.0, 0.3]             # a flat cluster
    >>> b = rng.standard_normal((60, 2)) * [0.3, 3.0] + [0, 6]    # a tall one
    >>> km = MahalanobisKMeans(n_clusters=2, random_state=0).fit(np.vstack([a, b]))
    >>> np.bincount(km.labels_), km.cluster_centers_.round(1) + 0.0
    (array([58, 62]), array([[-0.1,  6.3],
           [ 0. ,  0. ]]))
    """

    def __init__(self, n_clusters: int = 8, covariance: str = "per_cluster", n_init: int = 10,
                 max_iter: int = 100, tol: float = 1e-4, reg: float = 1e-6,
                 random_state: Any = None) -> None:
        self.n_clusters = n_clusters
        self.covariance = covariance
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.reg = reg
        self.random_state = random_state

    # ------------------------------------------------------------------ one run
    def _scatters(self, Z: np.ndarray, labels: np.ndarray, centers: np.ndarray,
                  cost: np.ndarray | None, shared: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Centres and regularised scatters from labels (re-seeding empty clusters)."""
        K, p = self.n_clusters, Z.shape[1]
        counts = np.bincount(labels, minlength=K)
        centers = centers.copy()
        scat = np.empty((K, p, p))
        for k in range(K):
            if counts[k] == 0:
                if cost is not None:
                    worst = int(np.argmax(cost))
                    centers[k] = Z[worst]
                    cost = cost.copy()
                    cost[worst] = -np.inf
                scat[k] = 0.0
                continue
            Zk = Z[labels == k]
            centers[k] = Zk.mean(axis=0)
            R = Zk - centers[k]
            scat[k] = R.T @ R / counts[k]
        pooled = np.tensordot(counts / counts.sum(), scat, axes=1)
        eye = self.reg * np.eye(p)
        out = np.empty_like(scat)
        for k in range(K):
            if shared or counts[k] <= p:
                out[k] = pooled + eye
            else:
                lam = p / (counts[k] + p)
                out[k] = (1 - lam) * scat[k] + lam * pooled + eye
            out[k] = (out[k] + out[k].T) / 2
        return centers, out

    @staticmethod
    def _costs(Z: np.ndarray, centers: np.ndarray, scat: np.ndarray) -> np.ndarray:
        """n x K squared distances under the determinant-normalised metrics."""
        p = Z.shape[1]
        D = np.empty((Z.shape[0], centers.shape[0]))
        for k in range(centers.shape[0]):
            d2, L = _sq_dist(Z, centers[k], scat[k])
            D[:, k] = d2 * np.exp(_linalg.log_det_from_cholesky(L) / p)
        return D

    def _iterate(self, Z, centers, scat, labels, shared, max_iter):
        p, n = Z.shape[1], Z.shape[0]
        D = self._costs(Z, centers, scat)
        n_iter = 0
        for n_iter in range(1, max_iter + 1):  # noqa: B007
            cost = D[np.arange(n), labels]
            new_centers, scat = self._scatters(Z, labels, centers, cost, shared)
            shift = float(np.sum((new_centers - centers) ** 2)) / p
            centers = new_centers
            D = self._costs(Z, centers, scat)
            new_labels = np.argmin(D, axis=1)
            changed = bool(np.any(new_labels != labels))
            labels = new_labels
            if not changed or shift <= self.tol:
                break
        return D, centers, scat, labels, n_iter

    def _run(self, Z: np.ndarray, rng: np.random.Generator, warm: bool = True):
        K, p = self.n_clusters, Z.shape[1]
        centers = _kmeanspp(Z, K, rng)
        scat = np.broadcast_to(np.eye(p), (K, p, p)).copy()
        labels = np.argmin(self._costs(Z, centers, scat), axis=1)
        # Phase 1: a shared metric (Friedman-Rubin); phase 2: cluster metrics from there.
        # Starting the per-cluster iterations from the shared solution avoids some of the
        # poor local optima that per-cluster metrics fall into from a Euclidean start, and
        # falls into others: runs alternate between the two starts.
        shared_first = warm or self.covariance == "shared"
        D, centers, scat, labels, n_iter = self._iterate(Z, centers, scat, labels,
                                                         shared_first, self.max_iter)
        if shared_first and self.covariance == "per_cluster" and n_iter < self.max_iter:
            D, centers, scat, labels, n2 = self._iterate(Z, centers, scat, labels, False,
                                                         self.max_iter - n_iter)
            n_iter += n2
        inertia = float(D[np.arange(Z.shape[0]), labels].sum())
        return inertia, centers, scat, labels, n_iter

    # ------------------------------------------------------------------ public API
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> MahalanobisKMeans:
        """Cluster X. ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Data to cluster (n >= n_clusters).
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        MahalanobisKMeans
            self, with ``cluster_centers_``, ``covariances_``, ``labels_``, ``inertia_``
            and ``n_iter_``.

        Raises
        ------
        ValueError
            When a parameter is out of range, X has fewer rows than ``n_clusters`` or
            NaN/inf values.

        See Also
        --------
        MahalanobisKMeans.predict : Assign new rows.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisKMeans
        >>> rng = np.random.default_rng(0)
        >>> a = rng.standard_normal((60, 2)) * [3.0, 0.3]             # a flat cluster
        >>> b = rng.standard_normal((60, 2)) * [0.3, 3.0] + [0, 6]    # a tall one
        >>> km = MahalanobisKMeans(n_clusters=2, random_state=0).fit(np.vstack([a, b]))
        >>> km.n_iter_, round(km.inertia_, 2)
        (3, 31.28)
        """
        K = _check_int(self.n_clusters, "n_clusters", 1)
        n_init = _check_int(self.n_init, "n_init", 1)
        _check_int(self.max_iter, "max_iter", 1)
        check_choice(self.covariance, "covariance", _COVARIANCES)
        check_fraction(self.tol, "tol", low=0.0, high=np.inf, low_open=False)
        reg = check_fraction(self.reg, "reg", low=0.0, high=np.inf, low_open=False)
        X = cast(np.ndarray, validate_data(self, X, dtype=np.float64))
        n, p = X.shape
        if n < K:
            raise ValueError(f"n_samples={n} should be >= n_clusters={K}; pass more samples or "
                             "lower n_clusters.")
        if n < 2:
            raise ValueError("n_samples=1: clustering needs at least 2 samples.")
        if not np.any(np.ptp(X, axis=0) > 0):
            raise ValueError(f"X: all {n} rows are the same point, so there is nothing to "
                             "cluster and no scatter to measure by; pass data that vary.")
        check_spread(X)  # variances float64 can hold
        rng = check_random_state(self.random_state)
        mu = X.mean(axis=0)
        S = (X - mu).T @ (X - mu) / n
        S = (S + S.T) / 2 + max(reg, 1e-12) * max(float(np.mean(np.diag(S))), 1e-300) * np.eye(p)
        Lg = _linalg.cholesky(S, "covariance of X")
        Wg = np.tril(_linalg.inverse_triangular(Lg, lower=True))
        Z = (X - mu) @ Wg.T
        best = None
        for run in range(n_init):
            res = self._run(Z, rng, warm=run % 2 == 0)
            if best is None or res[0] < best[0]:
                best = res
        inertia, centers, scat, labels, n_iter = best  # type: ignore[misc]  # n_init >= 1
        self.cluster_centers_ = centers @ Lg.T + mu
        self.covariances_ = np.einsum("ij,kjl,ml->kim", Lg, scat, Lg)
        # Metrics used for assignment, in original units (determinant-normalised).
        self._metrics = []
        for k in range(K):
            Lk = _linalg.cholesky(scat[k], "cluster scatter")
            scale = np.exp(_linalg.log_det_from_cholesky(Lk) / (2 * p))
            self._metrics.append(Metric.from_cholesky(self.cluster_centers_[k],
                                                      Lg @ Lk / scale))
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Squared (determinant-normalised) Mahalanobis distances to each cluster centre, in
        the units of ``inertia_`` (globally whitened coordinates), shape (n, n_clusters).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of shape (n, n_clusters)
            Squared distance of each row to each centre under that cluster's metric.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the estimator is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisKMeans.predict : The closest cluster.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisKMeans
        >>> rng = np.random.default_rng(0)
        >>> a = rng.standard_normal((60, 2)) * [3.0, 0.3]             # a flat cluster
        >>> b = rng.standard_normal((60, 2)) * [0.3, 3.0] + [0, 6]    # a tall one
        >>> km = MahalanobisKMeans(n_clusters=2, random_state=0).fit(np.vstack([a, b]))
        >>> km.transform([[0.0, 0.0], [0.0, 6.0]]).argmin(axis=1)
        array([1, 0])
        """
        X = fitted_rows(self, X)
        return np.column_stack([m.distance(X, squared=True) for m in self._metrics])

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Index of the closest cluster under the fitted metrics.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Rows with the training data's p columns.

        Returns
        -------
        ndarray of int of shape (n,)
            Cluster index (0..n_clusters-1) of each row.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the estimator is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.

        See Also
        --------
        MahalanobisKMeans.transform : The distances behind it.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisKMeans
        >>> rng = np.random.default_rng(0)
        >>> a = rng.standard_normal((60, 2)) * [3.0, 0.3]             # a flat cluster
        >>> b = rng.standard_normal((60, 2)) * [0.3, 3.0] + [0, 6]    # a tall one
        >>> km = MahalanobisKMeans(n_clusters=2, random_state=0).fit(np.vstack([a, b]))
        >>> km.predict([[0.0, 0.0], [0.0, 6.0]])
        array([1, 0])
        """

        return np.argmin(self.transform(X), axis=1)
