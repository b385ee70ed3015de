"""mahalanobis: everything built on the Mahalanobis distance.

The main names are here; the subpackages hold the rest: :mod:`~mahalanobis.covariance`
(estimators), :mod:`~mahalanobis.inference` (cutoffs, tests), :mod:`~mahalanobis.control`
(charts), :mod:`~mahalanobis.variants` (kernel, functional, sketched, online metrics) and, imported
on first access because they need optional extras, :mod:`~mahalanobis.ml` (scikit-learn),
:mod:`~mahalanobis.plot` (matplotlib) and :mod:`~mahalanobis.report`.

Examples
--------
>>> import numpy as np
>>> import mahalanobis as mh
>>> X = np.random.default_rng(0).standard_normal((200, 3))
>>> m = mh.fit(X)                        # location and scatter, factored once
>>> m.distance(X[:2]).round(3)           # D; squared=True gives D^2
array([0.76 , 0.727])
"""

import signal as _signal
import sys as _sys

if _sys.argv[:1] == ["-m"] and "mahalanobis" in getattr(_sys, "orig_argv", [])[1:4] and \
        _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    # `python -m mahalanobis`: Python imports this package (numpy, scipy: about a second)
    # before it runs __main__, so a Ctrl-C now would print a traceback from the import
    # machinery. Until __main__ takes over, SIGINT ends the command quietly with status 130,
    # as the `mahalanobis` script does (_mahalanobis_cli). sys.argv[0] is "-m" only while the
    # module named on the command line is being found. (A SIGINT its parent ignores stays
    # ignored.)

    def _interrupted_while_importing(signum: int, frame: object) -> None:
        try:
            print("mahalanobis: interrupted", file=_sys.stderr, flush=True)
        finally:
            raise SystemExit(130)

    _signal.signal(_signal.SIGINT, _interrupted_while_importing)

import importlib
from typing import Any

from . import control, covariance, inference, variants
from ._version import __version__
from .control import T2Chart
from .covariance import FitResult, MCDResult, MRCDResult, available_methods, fit
from .distance import distance, pairwise, whiten
from .ellipsoid import Ellipsoid
from .errors import (
    ArgumentTypeError,
    CholeskyDowndateWarning,
    ExactFitError,
    IllConditionedWarning,
    SingularCovarianceError,
)
from .inference import (
    OutlierResult,
    group_distance,
    group_distances,
    hotelling_t2,
    leverage,
    outliers,
)
from .metric import Metric, MetricLike
from .variants import FunctionalMetric, KernelMetric, OnlineMetric, SketchedMetric

__all__ = [
    "ArgumentTypeError",
    "CholeskyDowndateWarning",
    "Ellipsoid",
    "ExactFitError",
    "FitResult",
    "FunctionalMetric",
    "IllConditionedWarning",
    "KernelMetric",
    "MCDResult",
    "MRCDResult",
    "Metric",
    "MetricLike",
    "OnlineMetric",
    "OutlierResult",
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
    "group_distances",
    "hotelling_t2",
    "inference",
    "leverage",
    "outliers",
    "pairwise",
    "variants",
    "whiten",
]

#: Subpackages that need optional extras: imported on first attribute access, so that
#: ``import mahalanobis`` (and ``from mahalanobis import *``) needs only numpy and scipy.
_LAZY_SUBMODULES = ("ml", "plot", "report")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, *_LAZY_SUBMODULES])
