"""Metrics beyond the linear, finite, static case.

- :class:`KernelMetric` -- the Mahalanobis distance in a kernel's feature space (exact or
  Nystroem), with split-conformal p-values;
- :class:`FunctionalMetric` -- for curves on a common grid (FPCA or the RKHS-regularised
  distance);
- :class:`SketchedMetric` -- a random-projection sketch of the whitening map for p >> n, with
  a stated error bound;
- :class:`OnlineMetric` -- streaming updates, removals, merges and forgetting with rank-one
  Cholesky up- and downdates.

All of them satisfy :class:`mahalanobis.MetricLike` (``distance``, ``pvalue``, ``outliers``,
``n_features_in_``) and follow one fit convention: the constructor stores hyperparameters
only, ``fit(X)`` (``partial_fit(X)`` for the online metric) learns from data and returns the
estimator, and fitted attributes end in ``_``.
"""

from .functional import FunctionalMetric
from .kernel import KernelMetric
from .online import OnlineMetric
from .sketched import SketchedMetric

__all__ = ["FunctionalMetric", "KernelMetric", "OnlineMetric", "SketchedMetric"]
