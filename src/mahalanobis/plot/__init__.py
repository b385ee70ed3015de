"""Plots of Mahalanobis distances (matplotlib, the ``plot`` extra, imported on first use).

Every function draws on ``ax`` (a new figure when omitted), returns the Axes (a grid of Axes
for :func:`ellipse_pairs`) and never calls ``plt.show()``.

- :func:`tolerance_ellipse`: classical and robust tolerance ellipses for two variables;
- :func:`ellipse_pairs`: the same on every pair of variables;
- :func:`qq_plot`: chi-squared Q-Q plot of D^2 with a simultaneous envelope;
- :func:`distance_distance`: robust against classical distances;
- :func:`index_plot`: D^2 by row with the cutoff;
- :func:`outlier_map`: orthogonal against score distances of (robust) PCA;
- :func:`control_chart`, :func:`myt_plot`: T^2 chart and the decomposition of a signal.
"""

from ._common import require_matplotlib
from .chart import control_chart, myt_plot
from .diagnostics import distance_distance, index_plot, qq_band, qq_plot
from .ellipse import ellipse_pairs, tolerance_ellipse
from .outlier_map import outlier_map

__all__ = [
    "control_chart",
    "distance_distance",
    "ellipse_pairs",
    "index_plot",
    "myt_plot",
    "outlier_map",
    "qq_band",
    "qq_plot",
    "require_matplotlib",
    "tolerance_ellipse",
]
