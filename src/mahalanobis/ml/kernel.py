"""The Mahalanobis (Gaussian) kernel k(x, y) = exp(-gamma D^2(x, y)) for kernel machines."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator

from .._deprecation import renamed_parameters
from .._validation import as_square_matrix, check_fraction
from ..distance import pairwise
from ..metric import Metric
from ._common import check_array, fit_metric, validate_data

__all__ = ["MahalanobisKernel", "mahalanobis_kernel"]


def _check_gamma(gamma: Any) -> float:
    return check_fraction(gamma, "gamma", low=0.0, high=np.inf)


def mahalanobis_kernel(X: ArrayLike, Y: ArrayLike | None = None, *, cov: ArrayLike,
                       gamma: float = 1.0) -> np.ndarray:
    """Gram matrix of the Mahalanobis kernel, ``K[i, j] = exp(-gamma * D^2(x_i, y_j))``.

    ``D^2(x, y) = (x - y)^T cov^-1 (x - y)``, computed by :func:`mahalanobis.pairwise`: both
    sets whitened once, then one GEMM. With ``gamma = delta / p`` this is the kernel of Abe
    (2005), which reduces to the RBF kernel for ``cov = I``.

    Parameters
    ----------
    X : array-like of shape (n_X, p)
        First set of rows.
    Y : array-like of shape (n_Y, p) or None
        None uses X (a symmetric Gram matrix with ones on the diagonal).
    cov : array-like of shape (p, p)
        The covariance defining the metric (keyword only), e.g. ``mh.fit(X_train).cov``.
    gamma : float, default=1.0
        Kernel width (positive).

    Returns
    -------
    ndarray of shape (n_X, n_Y)
        K[i, j] = exp(-gamma D^2(x_i, y_j)).

    Raises
    ------
    ValueError
        When ``gamma`` is not positive and finite, X and Y have different numbers of columns,
        or the inputs have NaN/inf values.
    SingularCovarianceError
        When ``cov`` is not positive definite.

    See Also
    --------
    MahalanobisKernel : The same kernel as a callable for kernel machines.
    mahalanobis.pairwise : The D^2 matrix behind it.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.ml import mahalanobis_kernel
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> mahalanobis_kernel(X, cov=[[1.0, 0.0], [0.0, 4.0]], gamma=0.5).round(4)
    array([[1.    , 0.6065, 0.6065],
           [0.6065, 1.    , 0.3679],
           [0.6065, 0.3679, 1.    ]])

    References
    ----------
    Abe, S. (2005). Training of support vector machines with Mahalanobis kernels. ICANN 2005,
    LNCS 3697, 571-576.
    """
    check_fraction(gamma, "gamma", low=0.0, high=np.inf)
    gamma = _check_gamma(gamma)
    X = cast(np.ndarray, check_array(X, dtype=np.float64))
    Y = None if Y is None else check_array(Y, dtype=np.float64)
    d2 = pairwise(X, Y, cov=cov, squared=True)
    d2 *= -gamma
    return np.exp(d2, out=d2)


class MahalanobisKernel(BaseEstimator):
    """A Mahalanobis kernel as a callable for kernel machines: ``SVC(kernel=MahalanobisKernel(
    ...).fit(X))``.

    ``kernel(X, Y) = exp(-gamma * (x - y)^T S^-1 (x - y))`` (Abe 2005). S is ``cov`` when
    given, otherwise estimated by :meth:`fit`. The metric is factored once; each call whitens
    both sets (one triangular multiply each) and forms the Gram matrix with one GEMM.

    Parameters
    ----------
    cov : array-like of shape (p, p) or None, default=None
        A fixed covariance. When None, :meth:`fit` estimates it with ``method``.
    gamma : float, default=1.0
        Kernel width; Abe's normalisation is ``gamma = delta / p``.
    method : str or callable, default="empirical"
        Scatter estimator for :meth:`fit` (a method of :func:`mahalanobis.fit`).
    method_options : dict or None, default=None
        Keyword options for the estimator.

    Notes
    -----
    A fitted kernel keeps its covariance through :func:`sklearn.base.clone` (see
    ``__sklearn_clone__``): in cross-validation the covariance is the one learnt before the
    split, as it would be with a fixed ``cov``.

    Attributes
    ----------
    metric_ : Metric
        The factored metric.
    covariance_ : ndarray of shape (p, p)
        Its covariance.

    See Also
    --------
    mahalanobis_kernel : The Gram matrix as a function.
    MahalanobisWhitener : Whitening in front of an RBF kernel gives the same Gram matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from mahalanobis.ml import MahalanobisKernel
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.standard_normal((40, 2)), rng.standard_normal((40, 2)) + [3, 1]])
    >>> X = X * [1.0, 5.0]                           # very different feature scales
    >>> y = np.repeat([0, 1], 40)
    >>> kernel = MahalanobisKernel(gamma=0.5).fit(X)
    >>> SVC(kernel=kernel).fit(X, y).score(X, y)
    0.8875
    >>> kernel(X[:2]).round(3)
    array([[1.   , 0.948],
           [0.948, 1.   ]])
    """

    @renamed_parameters(estimator="method", estimator_options="method_options")
    def __init__(self, cov: ArrayLike | None = None, gamma: float = 1.0, method: Any = "empirical",
                 method_options: dict | None = None) -> None:
        self.cov = cov
        self.gamma = gamma
        self.method = method
        self.method_options = method_options

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> MahalanobisKernel:
        """Estimate the covariance from X (or factor the given ``cov``). ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Training data (n >= 2).
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        MahalanobisKernel
            self, with ``metric_`` and ``covariance_``.

        Raises
        ------
        ValueError
            When ``gamma`` is not positive, ``cov`` is not a (p, p) matrix, ``method`` is
            unknown, or X has fewer than 2 rows or NaN/inf values.
        SingularCovarianceError
            When the covariance is not positive definite.

        See Also
        --------
        mahalanobis.fit : The estimators behind ``method``.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisKernel
        >>> X = np.random.default_rng(0).standard_normal((80, 2)) * [1.0, 5.0]
        >>> MahalanobisKernel().fit(X).covariance_.round(1)
        array([[ 0.9,  0.7],
               [ 0.7, 24. ]])
        """

        _check_gamma(self.gamma)
        X = cast(np.ndarray, validate_data(self, X, ensure_min_samples=2, dtype=np.float64))
        p = X.shape[1]
        if self.cov is not None:
            self.metric_ = Metric(np.zeros(p), as_square_matrix(self.cov, "cov", p))
        else:
            self.metric_ = fit_metric(X, self.method, self.method_options)
        self.covariance_ = np.asarray(self.metric_.cov)
        return self

    def __sklearn_clone__(self) -> MahalanobisKernel:
        """A fitted kernel is cloned with its covariance (like a fixed ``cov``), so that
        ``SVC(kernel=MahalanobisKernel().fit(X))`` survives ``clone`` in cross-validation and
        grid search; an unfitted one is cloned from its parameters as usual."""
        if hasattr(self, "metric_"):
            import copy
            return copy.deepcopy(self)
        return super().__sklearn_clone__()

    def _get_metric(self) -> Metric:
        m = getattr(self, "metric_", None)
        if m is not None:
            return m
        if self.cov is None:
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("This MahalanobisKernel has no covariance yet: pass cov= or "
                                 "call fit(X) before using it as a kernel.")
        cov = as_square_matrix(self.cov, "cov")
        return Metric(np.zeros(cov.shape[0]), cov)

    def __call__(self, X: Any, Y: Any = None) -> np.ndarray:
        """Gram matrix ``exp(-gamma * D^2(X_i, Y_j))``, shape (n_X, n_Y)."""
        gamma = _check_gamma(self.gamma)
        m = self._get_metric()
        X = _kernel_rows(X, "X", m.n_features)
        if Y is None:
            d2 = m.pairwise(X, squared=True)
        else:
            d2 = m.pairwise(X, _kernel_rows(Y, "Y", m.n_features), squared=True)
        d2 *= -gamma
        return np.exp(d2, out=d2)


def _kernel_rows(Z: Any, name: str, p: int) -> np.ndarray:
    """Rows for the kernel's Gram matrix: finite floats with the covariance's p columns."""
    Z = cast(np.ndarray, check_array(Z, dtype=np.float64))
    if Z.shape[1] != p:
        raise ValueError(f"{name} has {Z.shape[1]} features but the kernel's covariance is "
                         f"{p} x {p}.")
    return Z
