"""Out-of-distribution scores from class-conditional Mahalanobis distances on features:
Lee et al. (2018), the relative distance of Ren et al. (2021) and Mahalanobis++ (2025)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._validation import check_fraction
from ._common import ridge_metric

__all__ = ["MahalanobisOOD", "OODMetrics", "ood_metrics"]


def _l2_normalize(X: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0] = 1.0
    return X / norms[:, None]


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

    References
    ----------
    Lee, K., Lee, K., Lee, H. & Shin, J. (2018). A simple unified framework for detecting
    out-of-distribution samples and adversarial attacks. NeurIPS 31.
    Ren, J., Fort, S., Liu, J., Roy, A. G., Padhy, S. & Lakshminarayanan, B. (2021). A simple
    fix to Mahalanobis distance for improving near-OOD detection. arXiv:2106.09022.
    Mueller, M. & Hein, M. (2025). Mahalanobis++: Improving OOD detection via feature
    normalization. ICML 2025, arXiv:2505.18032.
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

    def fit(self, X: Any, y: Any) -> MahalanobisOOD:
        """Fit class means and the shared covariance to in-distribution features X, labels y."""
        reg = check_fraction(self.reg, "reg", low=0.0, high=np.inf, low_open=False)
        X, y = validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64)
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

    def class_distances(self, X: Any) -> np.ndarray:
        """Squared distances to every class mean under the shared covariance, shape (n, K)
        (minus the background distance when ``relative``)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.normalize:
            X = _l2_normalize(X)
        d2 = self.metric_.pairwise(X, self.means_, squared=True)
        if self.relative:
            d2 = d2 - np.asarray(self.background_metric_.distance(X, squared=True))[:, None]
        return d2

    def score_samples(self, X: Any) -> np.ndarray:
        """-min_c D^2_c(x): higher means more in-distribution."""
        return -np.min(self.class_distances(X), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The nearest class (the class the score refers to)."""
        d2 = self.class_distances(X)
        return self.classes_[np.argmin(d2, axis=1)]


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
    n_in, n_out : int
    """

    auroc: float
    fpr_at_95_tpr: float
    n_in: int
    n_out: int

    def __repr__(self) -> str:
        return (f"OODMetrics(auroc={self.auroc:.4f}, fpr_at_95_tpr={self.fpr_at_95_tpr:.4f}, "
                f"n_in={self.n_in}, n_out={self.n_out})")


def ood_metrics(scores_in: Any, scores_out: Any, *, tpr: float = 0.95) -> OODMetrics:
    """AUROC and false-positive rate at 95% true-positive rate of an OOD score.

    Parameters
    ----------
    scores_in : array-like of shape (n_in,)
        Scores of in-distribution samples (higher = more in-distribution).
    scores_out : array-like of shape (n_out,)
        Scores of out-of-distribution samples.
    tpr : float, default=0.95
        The true-positive rate at which the FPR is read.
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
