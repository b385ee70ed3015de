"""Hotelling T^2 control charts and the Mason-Young-Tracy decomposition of their signals.

    >>> import numpy as np
    >>> from mahalanobis.control import T2Chart
    >>> rng = np.random.default_rng(0)
    >>> phase1, new = rng.standard_normal((50, 3)), rng.standard_normal((10, 3))
    >>> phase1[7] += 6
    >>> new[4, 2] += 6
    >>> chart = T2Chart(phase1, remove_signals=True)   # Phase I, cleaned of signals
    >>> chart.signal_positions
    array([7])
    >>> live = chart.monitor(new)                      # Phase II
    >>> live.signal_positions
    array([4])
    >>> live.decompose(4).drivers                      # which variables drove it
    ('x2',)
"""

from .chart import RemovalRound, T2Chart
from .myt import MYTDecomposition, myt_terms

__all__ = ["MYTDecomposition", "RemovalRound", "T2Chart", "myt_terms"]
