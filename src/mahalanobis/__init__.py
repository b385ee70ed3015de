"""mahalanobis: everything built on the Mahalanobis distance.

    >>> import mahalanobis as mh
    >>> m = mh.fit(X)                      # location and scatter, factored once
    >>> m.distance(X_new)                  # D; squared=True gives D^2
    >>> mh.pairwise(X, cov=m.cov)          # all pairs
"""

from . import covariance
from ._version import __version__
from .covariance import available_methods, fit
from .distance import distance, pairwise, whiten
from .errors import ExactFitError, IllConditionedWarning, SingularCovarianceError
from .metric import Metric

__all__ = [
    "ExactFitError",
    "IllConditionedWarning",
    "Metric",
    "SingularCovarianceError",
    "__version__",
    "available_methods",
    "covariance",
    "distance",
    "fit",
    "pairwise",
    "whiten",
]
