"""Kernel Mahalanobis distance: the regularised Mahalanobis distance in a kernel feature space.

Derivation (Haasdonk & Pekalska 2010, Sec. 3; the kernel PCA eigenproblem of Schölkopf,
Smola & Müller 1998). Let phi be the feature map of a kernel k, x_1..x_n the fitted points,
mu = (1/n) sum_i phi(x_i) their mean and C = (1/(n-1)) sum_i (phi(x_i) - mu)(phi(x_i) - mu)^T
their covariance operator (divisor n - 1, as ``numpy.cov``). The regularised distance of a point
y is

    D^2(y) = (phi(y) - mu)^T (C + reg I)^-1 (phi(y) - mu).                                  (1)

With Kc = H K H the centred Gram matrix (H = I - 11^T / n) and its eigenpairs Kc u_m = kappa_m u_m
(kappa_m > 0, ||u_m|| = 1), the eigenpairs of C are lambda_m = kappa_m / (n - 1) and
e_m = sum_i u_mi (phi(x_i) - mu) / sqrt(kappa_m). Since (C + reg I)^-1 = (1/reg) (I -
sum_m lambda_m / (lambda_m + reg) e_m e_m^T),

    D^2(y) = (1/reg) ( ||v||^2 - sum_m lambda_m / (lambda_m + reg) <v, e_m>^2 ),  v = phi(y) - mu,
           = sum_m <v, e_m>^2 / (lambda_m + reg) + (||v||^2 - sum_m <v, e_m>^2) / reg,        (2)

where, with k_y = (k(x_i, y))_i, the centred kernel vector kc_y = H (k_y - K 1 / n) gives
<v, e_m> = u_m^T kc_y / sqrt(kappa_m) and ||v||^2 = k(y, y) - 2 mean(k_y) + mean(K). The second
form of (2) shows the two parts: the distance within the span of the data, and the squared
distance from that span over reg (large for points off the data's manifold). For the linear
kernel k(x, y) = x^T y, (1) is exactly (y - xbar)^T (S + reg I)^-1 (y - xbar) with S the sample
covariance (divisor n - 1): the test suite checks this to 1e-10.

Nystroem approximation (Williams & Seeger 2001): with ``n_components = m`` landmark points, the
training features are replaced by their projections P phi(x_i) onto the span of the landmarks'
features, with coordinates z(x) = Lambda^-1/2 V^T k_landmarks(x) (eigenpairs of the landmarks'
Gram matrix). Then (1) is computed *exactly* for that projected training sample: the in-span
part is (z(y) - zbar)^T (C_z + reg I)^-1 (z(y) - zbar) and the out-of-span part is
(k(y, y) - ||z(y)||^2) / reg. Fitting costs O(n m^2) instead of O(n^3), a distance O(m p + m^2)
kernel work instead of O(n p). With all points as landmarks it equals the exact distance.

P-values are split-conformal (Vovk, Gammerman & Shafer 2005; Lei et al. 2018): a copy of the
metric is fitted to a random part of the data (same kernel parameters) and scores the held-out
rest; p(y) = (1 + #{calibration scores >= D(y)}) / (1 + n_calibration), valid (super-uniform)
for a y exchangeable with the fitted data, whatever the distribution. The calibration model is
fitted on the first call of :meth:`KernelMetric.pvalue`.

References
----------
Haasdonk, B. & Pekalska, E. (2010). Classification with kernel Mahalanobis distance
classifiers. In Advances in Data Analysis, Data Handling and Business Intelligence, 351-361.
Schölkopf, B., Smola, A. & Müller, K.-R. (1998). Nonlinear component analysis as a kernel
eigenvalue problem. Neural Computation 10, 1299-1319.
Williams, C. K. I. & Seeger, M. (2001). Using the Nyström method to speed up kernel machines.
NIPS 13, 682-688.
Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. & Wasserman, L. (2018). Distribution-free
predictive inference for regression. JASA 113, 1094-1111.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import (
    as_data,
    check_bool,
    check_fraction,
    check_int,
    check_random_state,
    check_spread,
)
from ._common import SplitConformal, check_rows

__all__ = ["KernelMetric"]

_NATIVE = ("linear", "rbf", "poly", "polynomial")
_SKLEARN = ("additive_chi2", "chi2", "laplacian", "sigmoid", "cosine")
_CHUNK = 256


def _sq_euclidean(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    D = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :]
    D -= 2.0 * (A @ B.T)
    np.maximum(D, 0.0, out=D)
    return D


def _sklearn_pairwise() -> Any:
    try:
        from sklearn.metrics.pairwise import pairwise_kernels
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("KernelMetric with this kernel needs scikit-learn: pip install "
                          "'mahalanobis[sklearn]' (or pass kernel='linear', 'rbf', 'poly' or "
                          "a callable).") from None
    return pairwise_kernels


def _median_heuristic(X: np.ndarray, kind: str, rng: np.random.Generator) -> float:
    """gamma = 1 / median pairwise squared Euclidean (rbf) or L1 (laplacian) distance, over at
    most 1000 points."""
    from scipy.spatial.distance import pdist

    A = X if X.shape[0] <= 1000 else X[rng.choice(X.shape[0], 1000, replace=False)]
    med = float(np.median(pdist(A, "sqeuclidean" if kind == "rbf" else "cityblock")))
    if not med > 0:
        raise ValueError("X: all fitted points coincide, so the median heuristic for gamma "
                         "fails; pass gamma= explicitly.")
    return 1.0 / med


class KernelMetric(SplitConformal):
    """Kernel Mahalanobis distance (regularised, in the RKHS of a kernel).

    Parameters
    ----------
    kernel : str or callable, default="rbf"
        A scikit-learn pairwise kernel name ("linear", "rbf", "poly", "laplacian", "sigmoid",
        "cosine", "chi2", "additive_chi2"; the first three need no scikit-learn) or a callable
        ``kernel(A, B, **kernel_params) -> (len(A), len(B)) Gram matrix`` (as for
        ``sklearn.svm.SVC``).
    gamma : float, optional
        Kernel width parameter. None: 1 / median squared pairwise distance of the fitted
        points for "rbf" (1 / median L1 distance for "laplacian"), the scikit-learn default
        1 / n_features for the other kernels that take one.
    reg : float, default=1e-3
        Relative ridge, > 0: ``reg * tr(C)`` (``tr(C)`` the total variance in feature space) is
        added to the feature-space covariance C, eq. (1) of the module notes, so the distance
        does not depend on the kernel's scale. A point off the span of the data has a distance
        that grows like its distance to that span over sqrt(reg tr(C)).
    n_components : int, optional
        Use the Nystroem approximation with this many random landmark points (fit O(n m^2)
        instead of O(n^3)); None uses the exact kernel eigendecomposition.
    degree, coef0 : float
        Parameters of the "poly" (and "sigmoid") kernels.
    kernel_params : dict, optional
        Extra keyword arguments for the kernel.
    random_state : int or numpy Generator, optional
        Landmarks, the median-heuristic subsample and the calibration split.
    calibration : float in (0, 1), default=0.25
        Fraction of the fitted points held out to calibrate :meth:`pvalue`.

    Attributes
    ----------
    gamma_ : float or None
        The kernel width used.
    reg_ : float
        The absolute ridge, ``reg * tr(C)``.
    n_features_in_ : int
    eigenvalues_ : ndarray
        Eigenvalues lambda_m of the feature-space covariance (within the data's span, or within
        the landmarks' span for Nystroem), decreasing.
    n_samples_ : int

    See Also
    --------
    mahalanobis.Metric : The linear-kernel case, without regularisation.
    mahalanobis.ml.MahalanobisOOD : Out-of-distribution scores from class-conditional metrics.

    Notes
    -----
    See the module docstring for the derivation, the Nystroem variant and the p-values.

    Examples
    --------
    >>> import numpy as np
    >>> import mahalanobis as mh
    >>> rng = np.random.default_rng(0)
    >>> t = rng.uniform(0, 2 * np.pi, 200)                 # points near the unit circle
    >>> X = np.column_stack([np.cos(t), np.sin(t)]) + 0.05 * rng.standard_normal((200, 2))
    >>> km = mh.KernelMetric(gamma=2.0, random_state=0).fit(X)
    >>> km.outliers([[1.0, 0.0], [0.0, 0.0]])             # the centre is far from the ring
    array([False,  True])
    """

    _fitted_attr = "_mode"

    def __init__(self, kernel: str | Callable[..., Any] = "rbf", gamma: float | None = None,
                 reg: float = 1e-3, n_components: int | None = None, degree: float = 3,
                 coef0: float = 1, kernel_params: dict[str, Any] | None = None,
                 random_state: Any = None, calibration: float = 0.25) -> None:
        self.kernel = kernel
        self.gamma = gamma
        self.reg = reg
        self.n_components = n_components
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.random_state = random_state
        self.calibration = calibration

    # ----------------------------------------------------------------- kernel evaluation
    def _check_params(self) -> None:
        check_fraction(self.degree, "degree", low=0.0, high=np.inf)
        check_fraction(self.coef0, "coef0", low=-np.inf, high=np.inf)
        if not callable(self.kernel) and self.kernel not in _NATIVE + _SKLEARN:
            raise ValueError(f"kernel must be one of {', '.join(map(repr, _NATIVE + _SKLEARN))} "
                             f"or a callable kernel(A, B); got {self.kernel!r}.")
        check_fraction(self.reg, "reg", low=0.0, high=np.inf)
        check_fraction(self.calibration, "calibration")
        if self.gamma is not None:
            check_fraction(self.gamma, "gamma", low=0.0, high=np.inf)
        if self.n_components is not None:
            check_int(self.n_components, "n_components", 1, "the number of Nystroem landmarks")

    def _gram(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        params = dict(self.kernel_params or {})
        k = self.kernel
        if callable(k):
            G = np.asarray(k(A, B, **params), dtype=float)
            if G.shape != (A.shape[0], B.shape[0]):
                raise ValueError(f"kernel(A, B) returned shape {G.shape}; expected "
                                 f"{(A.shape[0], B.shape[0])} (a Gram matrix).")
            return G
        g = self.gamma_
        if k == "linear":
            return A @ B.T
        origin = getattr(self, "_origin", None)
        if k in ("rbf", "laplacian") and origin is not None:
            # shift-invariant kernels: distances taken about the fitted data's mean, so a
            # common offset (1e8 and more) costs no accuracy in |a|^2 + |b|^2 - 2 a.b
            A, B = A - origin, B - origin
        if k == "rbf":
            G = _sq_euclidean(A, B)
            G *= -g
            return np.exp(G, out=G)
        if k in ("poly", "polynomial"):
            return (g * (A @ B.T) + self.coef0) ** self.degree
        pk = _sklearn_pairwise()
        params.update(gamma=g, degree=self.degree, coef0=self.coef0)
        return np.asarray(pk(A, B, metric=k, filter_params=True, **params), dtype=float)

    def _diag(self, A: np.ndarray) -> np.ndarray:
        """k(y, y) for every row (closed forms where known, else chunk Gram diagonals)."""
        k = self.kernel
        if k in ("rbf", "laplacian", "chi2", "cosine"):
            return np.ones(A.shape[0])
        sq = np.einsum("ij,ij->i", A, A)
        if k == "linear":
            return sq
        if k in ("poly", "polynomial"):
            return (self.gamma_ * sq + self.coef0) ** self.degree
        out = np.empty(A.shape[0])
        for s in range(0, A.shape[0], 64):
            out[s:s + 64] = np.diagonal(self._gram(A[s:s + 64], A[s:s + 64]))
        return out

    # ----------------------------------------------------------------- fitting
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> KernelMetric:
        """Fit the feature-space mean and regularised covariance to the rows of X (n, p).

        Parameters
        ----------
        X : array-like of shape (n, p)
            The reference points.
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        KernelMetric
            self, fitted.

        Raises
        ------
        ValueError
            For bad parameters (``reg <= 0``, an unknown kernel, ...) or bad rows.

        See Also
        --------
        KernelMetric.distance : Distances under the fit.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> X = np.random.default_rng(0).standard_normal((100, 2))
        >>> mh.KernelMetric(random_state=0).fit(X).n_samples_
        100
        """
        self._check_params()
        data = as_data(X, "X", min_samples=3)
        check_spread(data)  # variances float64 can hold
        A = np.array(data.values, dtype=float)
        self._origin = A.mean(axis=0)
        rng = check_random_state(self.random_state)
        if self.gamma is not None:
            self.gamma_ = float(self.gamma)
        elif self.kernel in ("rbf", "laplacian"):
            self.gamma_ = _median_heuristic(A, str(self.kernel), rng)
        elif self.kernel in ("poly", "polynomial", "sigmoid", "chi2"):
            self.gamma_ = 1.0 / A.shape[1]
        else:
            self.gamma_ = None  # type: ignore[assignment]  # None: gamma not estimated
        self._fit_core(A, rng)
        self._calib_rows = self.X_fit_
        self._calib_seed = int(rng.integers(2**63 - 1))
        self._calib = None
        return self

    def _fit_core(self, A: np.ndarray, rng: np.random.Generator) -> None:
        n = A.shape[0]
        self.n_samples_ = n
        self.n_features_in_ = A.shape[1]
        self.X_fit_ = A
        eps = np.finfo(float).eps
        if self.n_components is None:
            self._mode = "exact"
            K = self._gram(A, A)
            K = (K + K.T) / 2
            self._col_mean = K.mean(axis=0)
            self._all_mean = float(self._col_mean.mean())
            Kc = K - self._col_mean[None, :] - self._col_mean[:, None] + self._all_mean
            kappa, U = np.linalg.eigh((Kc + Kc.T) / 2)
            keep = kappa > max(kappa[-1], 0.0) * n * eps * 10
            kappa, U = kappa[keep][::-1], U[:, keep][:, ::-1]
            self._proj = U / np.sqrt(kappa)  # <v, e_m> = kc_y @ _proj
            self.eigenvalues_ = kappa / (n - 1)
            total = float(np.sum(self.eigenvalues_))
        else:
            self._mode = "nystroem"
            m = min(int(self.n_components), n)
            idx = np.sort(rng.choice(n, m, replace=False))
            self.landmarks_ = A[idx]
            Kmm = self._gram(self.landmarks_, self.landmarks_)
            s, V = np.linalg.eigh((Kmm + Kmm.T) / 2)
            keep = s > max(s[-1], 0.0) * m * eps * 10
            self._feat = V[:, keep] / np.sqrt(s[keep])  # z(x) = k_landmarks(x) @ _feat
            Z = self._gram(A, self.landmarks_) @ self._feat
            self._zmean = Z.mean(axis=0)
            Zc = Z - self._zmean
            lam, Q = np.linalg.eigh(Zc.T @ Zc / (n - 1))
            lam = np.maximum(lam, 0.0)
            self._zrot, self.eigenvalues_ = Q[:, ::-1], lam[::-1]
            # total variance: within the landmarks' span plus the mean squared residual off it
            off = np.maximum(self._diag(A) - np.einsum("ij,ij->i", Z, Z), 0.0)
            total = float(np.sum(lam) + off.sum() / (n - 1))
        if not total > 0:
            raise ValueError("X: all fitted points coincide in the kernel's feature space (the "
                             "covariance is zero); fit on points that vary.")
        self.reg_ = float(self.reg) * total

    # ----------------------------------------------------------------- distances
    def distance(self, X: ArrayLike, *, squared: bool = False,
                 nan_policy: str = "raise") -> np.ndarray:
        """Kernel Mahalanobis distances of the rows of X (D; ``squared=True`` gives D^2), eq. (2).

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        squared : bool, default False
            Return D^2 instead of D.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            The distances.

        Raises
        ------
        ValueError
            Before :meth:`fit`, or for bad rows.

        See Also
        --------
        KernelMetric.pvalue : Calibrated p-values of the same distances.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> rng = np.random.default_rng(0)
        >>> t = rng.uniform(0, 2 * np.pi, 200)
        >>> X = np.column_stack([np.cos(t), np.sin(t)]) + 0.05 * rng.standard_normal((200, 2))
        >>> km = mh.KernelMetric(gamma=2.0, random_state=0).fit(X)
        >>> km.distance([[1.0, 0.0], [0.0, 0.0]]).round(1)
        array([ 3. , 30.8])
        """
        squared = check_bool(squared, "squared")
        self._check_fitted()
        B = check_rows(X, "X", self.n_features_in_, nan_policy)
        out = np.empty(B.shape[0])
        reg = self.reg_
        for s in range(0, B.shape[0], _CHUNK):
            Bc = B[s:s + _CHUNK]
            kyy = self._diag(Bc)
            if self._mode == "exact":
                Ky = self._gram(Bc, self.X_fit_)
                row_mean = Ky.mean(axis=1)
                kc = Ky - row_mean[:, None] - self._col_mean[None, :] + self._all_mean
                proj = kc @ self._proj
                vv = kyy - 2.0 * row_mean + self._all_mean
                inside = (proj * proj) @ (1.0 / (self.eigenvalues_ + reg))
                off = vv - np.einsum("ij,ij->i", proj, proj)
            else:
                z = self._gram(Bc, self.landmarks_) @ self._feat
                r = (z - self._zmean) @ self._zrot
                inside = (r * r) @ (1.0 / (self.eigenvalues_ + reg))
                off = kyy - np.einsum("ij,ij->i", z, z)
            out[s:s + _CHUNK] = inside + np.maximum(off, 0.0) / reg
        np.maximum(out, 0.0, out=out)
        return out if squared else np.sqrt(out)

    # ----------------------------------------------------------------- calibration
    def _fit_copy(self, rows: np.ndarray) -> KernelMetric:
        sub = KernelMetric(self.kernel, self.gamma_, self.reg, self.n_components,
                           self.degree, self.coef0, self.kernel_params,
                           random_state=self._calib_seed, calibration=self.calibration)
        sub._check_params()
        sub.gamma_ = self.gamma_
        sub._fit_core(rows, np.random.default_rng(self._calib_seed))
        return sub

    def pvalue(self, X: ArrayLike, *, nan_policy: str = "raise") -> np.ndarray:
        """Split-conformal outlier p-values, (1 + #{calibration scores >= s}) / (1 + n_cal).

        The scores s are kernel Mahalanobis distances under a copy of the metric fitted to the
        fraction 1 - ``calibration`` of the data; the calibration scores are those of the
        held-out points under that copy.

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or NaN.

        Returns
        -------
        ndarray of shape (n,)
            Conformal p-values, in [1 / (1 + n_cal), 1].

        See Also
        --------
        KernelMetric.outliers : The rows flagged at a level.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> rng = np.random.default_rng(0)
        >>> t = rng.uniform(0, 2 * np.pi, 200)
        >>> X = np.column_stack([np.cos(t), np.sin(t)]) + 0.05 * rng.standard_normal((200, 2))
        >>> km = mh.KernelMetric(gamma=2.0, random_state=0).fit(X)
        >>> km.pvalue([[1.0, 0.0], [0.0, 0.0]]).round(3)
        array([0.863, 0.02 ])
        """
        return self._conformal_pvalue(X, nan_policy)

    def outliers(self, X: ArrayLike, alpha: float = 0.025, *, nan_policy: str = "raise"
                 ) -> np.ndarray:
        """Boolean mask of rows with conformal p-value <= alpha (false-positive rate <= alpha
        for points exchangeable with the fitted ones).

        Parameters
        ----------
        X : array-like of shape (n, p)
            The points.
        alpha : float, default 0.025
            Test level.
        nan_policy : {"raise", "omit", "propagate"}, default "raise"
            Rows with NaN: an error, dropped, or never flagged.

        Returns
        -------
        ndarray of bool, shape (n,)
            True for a flagged row.

        Raises
        ------
        ValueError
            When ``alpha`` is not in (0, 1).

        See Also
        --------
        KernelMetric.pvalue : The p-values behind the mask.

        Examples
        --------
        >>> import numpy as np
        >>> import mahalanobis as mh
        >>> rng = np.random.default_rng(0)
        >>> t = rng.uniform(0, 2 * np.pi, 200)
        >>> X = np.column_stack([np.cos(t), np.sin(t)]) + 0.05 * rng.standard_normal((200, 2))
        >>> km = mh.KernelMetric(gamma=2.0, random_state=0).fit(X)
        >>> km.outliers([[1.0, 0.0], [0.0, 0.0]], alpha=0.05)
        array([False,  True])
        """
        return self._conformal_outliers(X, alpha, nan_policy)

    def __repr__(self) -> str:
        k = self.kernel if isinstance(self.kernel, str) else getattr(
            self.kernel, "__name__", "callable")
        parts = [f"kernel={k!r}", f"reg={self.reg:g}"]
        if hasattr(self, "_mode"):
            if self.gamma_ is not None:
                parts.append(f"gamma={self.gamma_:.4g}")
            parts.append(f"n_samples={self.n_samples_}")
            parts.append(f"rank={self.eigenvalues_.size}")
        if self.n_components is not None:
            parts.append(f"n_components={self.n_components}")
        return f"KernelMetric({', '.join(parts)})"
