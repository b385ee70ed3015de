"""scikit-learn estimators built on the Mahalanobis distance (needs ``mahalanobis[sklearn]``).

- :class:`MahalanobisOutlierDetector` — any scatter estimator plus a calibrated cutoff;
- :class:`MahalanobisWhitener` — whitening transformer: Euclidean estimators in the metric;
- :class:`MahalanobisClassifier`, :func:`component_distances` — discriminant rules, mixtures;
- :class:`MahalanobisOOD`, :func:`ood_metrics` — Mahalanobis++ / Lee et al. OOD scores;
- :class:`MahalanobisKMeans` — k-means with cluster-specific metrics;
- :func:`mahalanobis_kernel`, :class:`MahalanobisKernel` — the Mahalanobis kernel;
- :class:`MTSSelector`, :func:`orthogonal_array` — Mahalanobis-Taguchi feature selection.
"""

from ._common import check_sklearn

check_sklearn()

from .classifier import MahalanobisClassifier, component_distances  # noqa: E402
from .kernel import MahalanobisKernel, mahalanobis_kernel  # noqa: E402
from .kmeans import MahalanobisKMeans  # noqa: E402
from .mts import MTSSelector, hadamard, orthogonal_array  # noqa: E402
from .ood import MahalanobisOOD, OODMetrics, ood_metrics  # noqa: E402
from .outlier import MahalanobisOutlierDetector  # noqa: E402
from .whitener import MahalanobisWhitener  # noqa: E402

__all__ = [
    "MTSSelector",
    "MahalanobisClassifier",
    "MahalanobisKMeans",
    "MahalanobisKernel",
    "MahalanobisOOD",
    "MahalanobisOutlierDetector",
    "MahalanobisWhitener",
    "OODMetrics",
    "component_distances",
    "hadamard",
    "mahalanobis_kernel",
    "ood_metrics",
    "orthogonal_array",
]
