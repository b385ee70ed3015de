"""Hotelling T^2 control charts and the Mason-Young-Tracy decomposition of their signals.

    >>> from mahalanobis.control import T2Chart
    >>> chart = T2Chart(phase1, remove_signals=True)   # Phase I, cleaned of signals
    >>> live = chart.monitor(new)                      # Phase II
    >>> live.decompose(live.signal_positions[0]).to_frame()   # which variables drove it
"""

from .chart import RemovalRound, T2Chart
from .myt import MYTDecomposition, myt_terms

__all__ = ["MYTDecomposition", "RemovalRound", "T2Chart", "myt_terms"]
