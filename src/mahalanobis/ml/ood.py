"""Out-of-distribution scores from class-conditional Mahalanobis distances on features:
Lee et al. (2018), the relative distance of Ren et al. (2021) and Mahalanobis++ (2025)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .. import _array_api
from .._validation import as_xp_data, check_bool, check_fraction
from ._common import check_array, ridge_metric, validate_data

__all__ = ["MahalanobisOOD", "OODMetrics", "ood_metrics"]


def _l2_normalize(X: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0] = 1.0
    return X / norms[:, None]


def _l2_normalize_xp(xp: Any, X: Any) -> Any:
    """Rows scaled to unit l2 norm (zero rows kept), in X's namespace and dtype."""
    norms = xp.sqrt(_array_api.row_sq_norms(xp, X))
    return X / xp.where(norms == 0, xp.ones_like(norms), norms)[:, None]


class MahalanobisOOD(BaseEstimator):
    """Mahalanobis out-of-distribution detector on features (embeddings) of a trained model.

    Fit on in-distribution features and their class labels: class means m_c and one shared
    covariance S of the residuals x - m_{y(x)} (divisor n, as in Lee et al. 2018). The score is

        score(x) = -min_c D^2(x; m_c, S)            (higher = more in-distribution).

    ``normalize=True`` (default) is Mahalanobis++ (Mueller & Hein 2025): features are first
    scaled to unit l2 norm, which removes the variation of feature norms that breaks the
    Gaussian model behind the score and makes it markedly more reliable across models.
    ``normalize=False`` is the original score of Lee, Lee, Lee & Shin (2018).
    ``relative=True`` is the relative Mahalanobis distance of Ren et al. (2021): the squared
    distance to the global ("background") Gaussian of all training features,
    D^2(x; m_0, S_0), is subtracted from each class distance before the minimum.

    Parameters
    ----------
    normalize : bool, default=True
        l2-normalise features (Mahalanobis++).
    relative : bool, default=False
        Relative Mahalanobis distance (Ren et al. 2021).
    reg : float, default=1e-6
        Ridge added to the covariance(s), relative to their mean variance: embeddings often
        have dead or collinear units, which would make the covariance singular.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    means_ : ndarray of shape (n_classes, p)
        Class means (of the normalised features when ``normalize``).
    covariance_ : ndarray of shape (p, p)
        Shared within-class covariance (with the ridge).
    background_mean_, background_covariance_ : ndarray
        Global mean and covariance (``relative=True`` only).

    See Also
    --------
    MahalanobisClassifier : The classifier of the same class-conditional Gaussians.
    ood_metrics : AUROC and FPR at 95% TPR of the scores.
    MahalanobisOutlierDetector : Outliers without class labels.

    Notes
    -----
    Array API input (PyTorch, JAX, CuPy, ...): ``fit``, ``score_samples``, ``predict`` and
    ``class_distances`` run on the features' device. The class means and the shared scatter
    are accumulated in float64 where the device has it (float32 features included); scores
    of float32 features are computed in float32 (about 1e-6 relative accuracy, see
    :meth:`mahalanobis.Metric.distance`). Fitted attributes are then arrays of that library;
    ``classes_`` are in the library of ``y`` (labels given as a NumPy array stay NumPy, and
    :meth:`predict` then returns NumPy labels). A model fitted on one library scores arrays
    of that library only.

    References
    ----------
    Lee, K., Lee, K., Lee, H. & Shin, J. (2018). A simple unified framework for detecting
    out-of-distribution samples and adversarial attacks. NeurIPS 31.
    Ren, J., Fort, S., Liu, J., Roy, A. G., Padhy, S. & Lakshminarayanan, B. (2021). A simple
    fix to Mahalanobis distance for improving near-OOD detection. arXiv:2106.09022.
    Mueller, M. & Hein, M. (2025). Mahalanobis++: Improving OOD detection via feature
    normalization. ICML 2025, arXiv:2505.18032.

    Examples
    --------
    >>> import numpy as np
    >>> from mahalanobis.ml import MahalanobisOOD, ood_metrics
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.standard_normal((100, 4)) + [3, 0, 0, 0],
    ...                rng.standard_normal((100, 4)) - [3, 0, 0, 0]])
    >>> ood = MahalanobisOOD(normalize=False).fit(X, np.repeat(["a", "b"], 100))
    >>> x_in = rng.standard_normal((50, 4)) + [3, 0, 0, 0]
    >>> x_out = rng.standard_normal((50, 4)) + [0, 4, 0, 0]
    >>> ood_metrics(ood.score_samples(x_in), ood.score_samples(x_out))
    OODMetrics(auroc=0.9984, fpr_at_95_tpr=0.0200, n_in=50, n_out=50)
    """

    def __init__(self, normalize: bool = True, relative: bool = False,
                 reg: float = 1e-6) -> None:
        self.normalize = normalize
        self.relative = relative
        self.reg = reg

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit(self, X: ArrayLike, y: ArrayLike) -> MahalanobisOOD:
        """Fit class means and the shared covariance to in-distribution features X, labels y.

        Parameters
        ----------
        X : array-like of shape (n, p)
            In-distribution features (NumPy or an Array API array).
        y : array-like of shape (n,)
            Their class labels.

        Returns
        -------
        MahalanobisOOD
            self, with ``classes_``, ``means_``, ``covariance_`` (and the background
            Gaussian when ``relative``).

        Raises
        ------
        ValueError
            When ``reg`` is negative, X has fewer than 2 rows or NaN/inf values, or y has
            not one label per row.
        TypeError
            When y is an array of another library than X.

        See Also
        --------
        MahalanobisOOD.score_samples : Score new features.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOOD
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((100, 4)) + [3, 0, 0, 0],
        ...                rng.standard_normal((100, 4)) - [3, 0, 0, 0]])
        >>> ood = MahalanobisOOD(normalize=False).fit(X, np.repeat(["a", "b"], 100))
        >>> x = np.array([[3.0, 0, 0, 0], [0, 4.0, 0, 0]])    # in-distribution, OOD
        >>> ood.classes_, ood.means_.shape
        (array(['a', 'b'], dtype='<U1'), (2, 4))
        """
        check_bool(self.normalize, "normalize")
        check_bool(self.relative, "relative")
        reg = check_fraction(self.reg, "reg", low=0.0, high=np.inf, low_open=False)
        if _array_api.is_foreign(X):
            return self._fit_xp(X, y, reg)
        X, y = cast("tuple[np.ndarray, np.ndarray]",
                    validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64))
        check_classification_targets(y)
        if self.normalize:
            X = _l2_normalize(X)
        self.classes_, codes = np.unique(y, return_inverse=True)
        K, p = self.classes_.shape[0], X.shape[1]
        counts = np.bincount(codes, minlength=K)
        means = np.zeros((K, p))
        np.add.at(means, codes, X)
        means /= counts[:, None]
        R = X - means[codes]
        S = R.T @ R / X.shape[0]
        self.means_ = means
        self.metric_ = ridge_metric(np.zeros(p), (S + S.T) / 2, reg)
        self.covariance_ = np.asarray(self.metric_.cov)
        if self.relative:
            mu0 = X.mean(axis=0)
            R0 = X - mu0
            S0 = R0.T @ R0 / X.shape[0]
            self.background_metric_ = ridge_metric(mu0, (S0 + S0.T) / 2, reg)
            self.background_mean_ = mu0
            self.background_covariance_ = np.asarray(self.background_metric_.cov)
        return self

    def class_distances(self, X: ArrayLike) -> np.ndarray:
        """Squared distances to every class mean under the shared covariance, shape (n, K)
        (minus the background distance when ``relative``).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Features with the training features' p columns.

        Returns
        -------
        ndarray of shape (n, n_classes)
            D^2 of each row to each class mean (an array of X's library for Array API input).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.
        TypeError
            When X is an array of another library than the one the detector was fitted on.

        See Also
        --------
        MahalanobisOOD.score_samples : Minus their row minimum.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOOD
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((100, 4)) + [3, 0, 0, 0],
        ...                rng.standard_normal((100, 4)) - [3, 0, 0, 0]])
        >>> ood = MahalanobisOOD(normalize=False).fit(X, np.repeat(["a", "b"], 100))
        >>> x = np.array([[3.0, 0, 0, 0], [0, 4.0, 0, 0]])    # in-distribution, OOD
        >>> ood.class_distances(x).round(1)
        array([[ 0. , 37.8],
               [27.8, 27. ]])
        """
        check_is_fitted(self)
        if self._fitted_on_xp() or _array_api.is_foreign(X):
            return self._scores_xp(X, reduce=False)
        X = cast(np.ndarray, validate_data(self, X, reset=False, dtype=np.float64))
        if self.normalize:
            X = _l2_normalize(X)
        d2 = self.metric_.pairwise(X, self.means_, squared=True)
        if self.relative:
            d2 = d2 - np.asarray(self.background_metric_.distance(X, squared=True))[:, None]
        return d2

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """-min_c D^2_c(x): higher means more in-distribution.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Features with the training features' p columns.

        Returns
        -------
        ndarray of shape (n,)
            The score of each row.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.
        TypeError
            When X is an array of another library than the one the detector was fitted on.

        See Also
        --------
        ood_metrics : How well the scores separate in- from out-of-distribution data.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOOD
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((100, 4)) + [3, 0, 0, 0],
        ...                rng.standard_normal((100, 4)) - [3, 0, 0, 0]])
        >>> ood = MahalanobisOOD(normalize=False).fit(X, np.repeat(["a", "b"], 100))
        >>> x = np.array([[3.0, 0, 0, 0], [0, 4.0, 0, 0]])    # in-distribution, OOD
        >>> ood.score_samples(x).round(2)
        array([ -0.03, -26.95])
        """
        check_is_fitted(self)
        if self._fitted_on_xp() or _array_api.is_foreign(X):
            return -self._scores_xp(X, reduce=True)
        return -np.min(self.class_distances(X), axis=1)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The nearest class (the class the score refers to).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Features with the training features' p columns.

        Returns
        -------
        ndarray of shape (n,)
            One label of ``classes_`` per row.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.
        ValueError
            When X has another number of columns or NaN/inf values.
        TypeError
            When X is an array of another library than the one the detector was fitted on.

        See Also
        --------
        MahalanobisOOD.class_distances : The distances behind it.

        Examples
        --------
        >>> import numpy as np
        >>> from mahalanobis.ml import MahalanobisOOD
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.standard_normal((100, 4)) + [3, 0, 0, 0],
        ...                rng.standard_normal((100, 4)) - [3, 0, 0, 0]])
        >>> ood = MahalanobisOOD(normalize=False).fit(X, np.repeat(["a", "b"], 100))
        >>> x = np.array([[3.0, 0, 0, 0], [0, 4.0, 0, 0]])    # in-distribution, OOD
        >>> ood.predict(x)
        array(['a', 'b'], dtype='<U1')
        """
        d2 = self.class_distances(X)
        if not _array_api.is_foreign(d2):
            return self.classes_[np.argmin(d2, axis=1)]
        xp = _array_api.namespace(d2)
        nearest = xp.argmin(d2, axis=1)
        if _array_api.is_foreign(self.classes_):
            return xp.take(self.classes_, nearest, axis=0)
        return self.classes_[_array_api.to_numpy(nearest)]  # NumPy labels: n indices moved

    # ----------------------------------------------------------------- Array API
    def _fitted_on_xp(self) -> bool:
        return _array_api.is_foreign(self.means_)

    def _fit_xp(self, X: Any, y: Any, reg: float) -> MahalanobisOOD:
        """:meth:`fit` on the device of an Array API array: class sums and counts by one-hot
        GEMMs and the residual scatter, chunk by chunk, in float64 where the device has it."""
        A = as_xp_data(X, "X", min_samples=2).values
        xp, dev, wd = _array_api.context(A)
        n, p = A.shape
        if _array_api.is_foreign(y):
            labels = xp.reshape(y, (-1,))
            if not _array_api.same_library(xp, labels):
                raise TypeError("y must be a NumPy array or an array of the same library as X.")
            classes, codes = xp.unique_inverse(labels)
            codes = _array_api.to_namespace(codes, xp, dev)
        else:
            labels = np.asarray(y).reshape(-1)
            check_classification_targets(labels)
            classes, codes_np = np.unique(labels, return_inverse=True)
            codes = xp.asarray(codes_np, device=dev)
        if codes.shape[0] != n:
            raise ValueError(f"y has {codes.shape[0]} labels but X has {n} rows; pass one "
                             "label per row.")
        K = int(classes.shape[0])
        rows = _array_api.chunk_rows(A, p + K)
        ks = xp.arange(K, device=dev)

        def chunks() -> Any:
            for s in range(0, n, rows):
                B = xp.astype(A[s:min(n, s + rows), :], wd)
                yield (_l2_normalize_xp(xp, B) if self.normalize else B), codes[s:min(n, s + rows)]

        sums = xp.zeros((K, p), dtype=wd, device=dev)
        counts = xp.zeros(K, dtype=wd, device=dev)
        with _array_api.matmul_precision(xp):
            for B, c in chunks():
                onehot = xp.astype(c[:, None] == ks[None, :], wd)
                sums = sums + onehot.T @ B
                counts = counts + xp.sum(onehot, axis=0)
            means = sums / counts[:, None]
            S = xp.zeros((p, p), dtype=wd, device=dev)
            for B, c in chunks():
                R = B - xp.take(means, c, axis=0)
                S = S + R.T @ R
        S = S / n
        self.classes_ = classes
        self.n_features_in_ = p
        self.means_ = means
        self.metric_ = ridge_metric(np.zeros(p), (S + S.T) / 2, reg)
        self.covariance_ = self.metric_.cov
        if self.relative:
            B = _l2_normalize_xp(xp, xp.astype(A, wd)) if self.normalize else A
            mu0, S0 = _array_api.mean_and_cov(B, ddof=0)
            self.background_metric_ = ridge_metric(mu0, S0, reg)
            self.background_mean_ = mu0
            self.background_covariance_ = self.background_metric_.cov
        return self

    def _scores_xp(self, X: Any, reduce: bool) -> Any:
        """Class distances (n, K), or their row minimum when ``reduce``, for Array API X on
        its device, chunk by chunk: the whitened means W m_c (K x p) once, then per chunk one
        whitening GEMM and one GEMM against them (:func:`mahalanobis._array_api.pairwise_sq`,
        with near pairs recomputed), about a common shift (the mean of the whitened means) that
        keeps cancellation small."""
        if not _array_api.is_foreign(X) or (self._fitted_on_xp()
                                            and not _array_api.same_library(
                                                _array_api.namespace(self.means_), X)):
            lib = (_array_api.library_name(self.means_) if self._fitted_on_xp() else "NumPy")
            raise TypeError(f"MahalanobisOOD was fitted on {lib} arrays; pass X as an array "
                            "of the same library (or fit again on the library you score).")
        A = as_xp_data(X, "X", n_features=self.n_features_in_).values
        xp, dev = _array_api.namespace(A), _array_api.device_of(A)
        M = self.metric_.whiten(_array_api.to_namespace(self.means_, xp, dev, A.dtype))
        shift = xp.mean(M, axis=0)
        M = M - shift
        n = A.shape[0]
        rows = _array_api.chunk_rows(A, A.shape[1] + M.shape[0])
        parts = []
        for s in range(0, n, rows):
            B = A[s:min(n, s + rows), :]
            if self.normalize:
                B = _l2_normalize_xp(xp, B)
            d2 = _array_api.pairwise_sq(xp, self.metric_.whiten(B) - shift, M)
            if self.relative:
                d2 = d2 - self.background_metric_.distance(B, squared=True)[:, None]
            parts.append(xp.min(d2, axis=1) if reduce else d2)
        if not parts:
            return xp.zeros((0,) if reduce else (0, M.shape[0]), dtype=A.dtype, device=dev)
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


@dataclass(frozen=True)
class OODMetrics:
    """Detection quality of an OOD score (in-distribution is the positive class).

    Attributes
    ----------
    auroc : float
        Area under the ROC curve: the chance that a random in-distribution sample scores
        higher than a random OOD sample (ties count one half).
    fpr_at_95_tpr : float
        Share of OOD samples scoring at or above the threshold that keeps 95% of the
        in-distribution samples.
    n_in : int
        Number of in-distribution scores.
    n_out : int
        Number of OOD scores.

    See Also
    --------
    ood_metrics : Builds it.

    Examples
    --------
    >>> from mahalanobis.ml import ood_metrics
    >>> ood_metrics([3.0, 2.0, 1.0], [1.5, 0.0])
    OODMetrics(auroc=0.8333, fpr_at_95_tpr=0.5000, n_in=3, n_out=2)
    """

    auroc: float
    fpr_at_95_tpr: float
    n_in: int
    n_out: int

    def __repr__(self) -> str:
        return (f"OODMetrics(auroc={self.auroc:.4f}, fpr_at_95_tpr={self.fpr_at_95_tpr:.4f}, "
                f"n_in={self.n_in}, n_out={self.n_out})")


def ood_metrics(scores_in: ArrayLike, scores_out: ArrayLike, *, tpr: float = 0.95) -> OODMetrics:
    """AUROC and false-positive rate at 95% true-positive rate of an OOD score.

    Parameters
    ----------
    scores_in : array-like of shape (n_in,)
        Scores of in-distribution samples (higher = more in-distribution).
    scores_out : array-like of shape (n_out,)
        Scores of out-of-distribution samples.
    tpr : float, default=0.95
        The true-positive rate at which the FPR is read.

    Returns
    -------
    OODMetrics
        AUROC and the FPR at ``tpr`` (in-distribution is the positive class).

    Raises
    ------
    ValueError
        When ``tpr`` is not in (0, 1], or a set of scores is empty or has NaN/inf values.

    See Also
    --------
    MahalanobisOOD.score_samples : Scores to evaluate.
    sklearn.metrics.roc_auc_score : The AUROC alone.

    Examples
    --------
    >>> from mahalanobis.ml import ood_metrics
    >>> ood_metrics([3.0, 2.0, 1.0], [1.5, 0.0])
    OODMetrics(auroc=0.8333, fpr_at_95_tpr=0.5000, n_in=3, n_out=2)
    """

    tpr = check_fraction(tpr, "tpr", high_open=False)
    s_in = check_array(np.asarray(scores_in, dtype=float).reshape(-1, 1), input_name="scores_in")
    s_out = check_array(np.asarray(scores_out, dtype=float).reshape(-1, 1),
                        input_name="scores_out")
    s_in, s_out = s_in[:, 0], s_out[:, 0]
    from scipy.stats import rankdata
    ranks = rankdata(np.concatenate([s_in, s_out]))
    n_in, n_out = s_in.size, s_out.size
    # Mann-Whitney U of the in-distribution scores over the OOD scores, divided by n_in n_out.
    auroc = (ranks[:n_in].sum() - n_in * (n_in + 1) / 2.0) / (n_in * n_out)
    # Threshold: the largest t with P(s_in >= t) >= tpr.
    k = int(np.ceil(tpr * n_in))
    t = np.sort(s_in)[::-1][k - 1]
    fpr = float(np.mean(s_out >= t))
    return OODMetrics(auroc=float(auroc), fpr_at_95_tpr=fpr, n_in=n_in, n_out=n_out)
