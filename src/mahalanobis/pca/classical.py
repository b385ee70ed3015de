"""Classical PCA with score and orthogonal distances, as rrcov's ``PcaClassic``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_data, check_int, check_spread
from ._common import _PCABase, class_pc, k_rule

__all__ = ["PCA"]


class PCA(_PCABase):
    """Classical principal components with the outlier-map diagnostics (rrcov
    ``PcaClassic``).

    Parameters
    ----------
    n_components : int, optional
        k. None: rrcov's rule on the eigenvalues (the smallest k with 80% of the variance,
        stopping at the first eigenvalue below 1e-3 of the largest).
    alpha : float
        Level of the cutoffs: SD above sqrt(chi2_k(1 - alpha)), OD above the
        Wilson-Hilferty cutoff (mean and sd of OD^(2/3)) are flagged (rrcov
        ``crit.pca.distances = 1 - alpha``).

    Attributes
    ----------
    center_, loadings_, eigenvalues_, n_components_, rank_
        Column means, the first k eigenvectors of the covariance (signs fixed: the largest
        entry of each is positive), their eigenvalues, k and the rank of the centred data.
    all_eigenvalues_ : ndarray
        Every nonzero eigenvalue (rrcov ``eig0``).
    sd_cutoff_, od_cutoff_ : float
        The cutoffs (``od_cutoff_`` None when k equals the rank).
    result_ : PCAResult
        Distances and classification of the training rows.

    See Also
    --------
    ROBPCA, mahalanobis.plot.outlier_map

    Notes
    -----
    Equal to rrcov 1.7-2 ``PcaClassic`` to rounding (loadings up to sign;
    tests/test_pca.py). Works for p > n (eigen decomposition of X X^T).

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.pca import PCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
    >>> pca = PCA().fit(X)
    >>> pca.n_components_, pca.eigenvalues_.round(1)
    (2, array([20.7,  8.9]))
    >>> pca.classify().counts()["regular"]
    94
    """

    _method = "classical"

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> PCA:
        """Fit to X (n, p); returns self.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Training data (p > n allowed); a DataFrame's columns become
            ``feature_names_in_``.
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        PCA
            The fitted estimator (``center_``, ``loadings_``, ``eigenvalues_``, the cutoffs
            and ``result_``).

        Raises
        ------
        ValueError
            When X has fewer than 2 rows or NaN/inf values, ``alpha`` is not in (0, 1), or
            ``n_components`` exceeds the rank of the centred data.

        See Also
        --------
        PCA.classify : Distances and outlier-map classification of (new) rows.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.pca import PCA
        >>> X = np.random.default_rng(0).standard_normal((100, 5)) @ np.diag([5.0, 3, 1, 0.3, 0.1])
        >>> pca = PCA().fit(X)
        >>> pca, pca.rank_
        (PCA(n_components=None, fitted: n_components_=2), 5)
        """
        self._check_params()
        data = as_data(X, "X", min_samples=2)

        check_spread(data)  # variances float64 can hold
        A = data.values
        _n, p = A.shape
        svd = class_pc(A)
        kmax = max(min(p, svd.rank), 1)
        if self.n_components is None:
            k = k_rule(svd.eigenvalues, svd.rank, kmax)
        else:
            k = check_int(self.n_components, "n_components", 1)
            if k > kmax:
                raise ValueError(f"n_components={k} exceeds the rank of the centred data "
                                 f"({svd.rank}); pass at most {kmax}.")
        self.center_ = svd.center
        self.loadings_ = svd.loadings[:, :k]
        self.eigenvalues_ = svd.eigenvalues[:k]
        self.all_eigenvalues_ = svd.eigenvalues
        self.n_components_ = k
        self.rank_ = svd.rank
        self.n_features_in_ = p
        if data.columns is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in data.columns], dtype=object)
        self._finish(A, svd.scores[:, :k].copy(), data.index, "classic")
        return self
