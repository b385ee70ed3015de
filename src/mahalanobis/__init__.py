"""mahalanobis: everything built on the Mahalanobis distance.

    >>> import mahalanobis as mh
    >>> m = mh.fit(X)                      # location and scatter, factored once
    >>> m.distance(X_new)                  # D; squared=True gives D^2
    >>> mh.pairwise(X, cov=m.cov)          # all pairs
"""

import importlib
from typing import Any

from . import control, covariance, inference
from ._version import __version__
from .control import T2Chart
from .covariance import MCDResult, MRCDResult, available_methods, fit
from .distance import distance, pairwise, whiten
from .errors import (
    CholeskyDowndateWarning,
    ExactFitError,
    IllConditionedWarning,
    SingularCovarianceError,
)
from .functional import FunctionalMetric
from .inference import Ellipsoid, group_distance, hotelling_t2, leverage
from .kernel import KernelMetric
from .metric import Metric
from .online import OnlineMetric
from .sketch import SketchedMetric

__all__ = [
    "CholeskyDowndateWarning",
    "Ellipsoid",
    "ExactFitError",
    "FunctionalMetric",
    "IllConditionedWarning",
    "KernelMetric",
    "MCDResult",
    "MRCDResult",
    "Metric",
    "OnlineMetric",
    "SingularCovarianceError",
    "SketchedMetric",
    "T2Chart",
    "__version__",
    "available_methods",
    "control",
    "covariance",
    "distance",
    "fit",
    "group_distance",
    "hotelling_t2",
    "inference",
    "leverage",
    "ml",
    "pairwise",
    "whiten",
]

# Submodules with optional dependencies are imported on first use, so that
# `import mahalanobis` needs only numpy and scipy.
_LAZY_SUBMODULES = ("ml",)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
