"""
Hotelling T² control chart (stackloss)
======================================

Phase I on the first 14 days of the ``stackloss`` plant data, Phase II monitoring of the last
7 days, and the Mason-Young-Tracy decomposition of the largest Phase II statistic: which
variables (alone or given the others) drive the signal.

Run as a script: ``python examples/t2_chart_stackloss.py`` writes
``examples/figures/t2_chart_stackloss.png``.
"""

# %%
# Phase I: estimate the in-control mean and covariance on days 1-14 (Beta limits).
import pathlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mahalanobis import plot
from mahalanobis.control import T2Chart

try:
    HERE = pathlib.Path(__file__).parent
except NameError:  # sphinx-gallery runs the script from its own directory
    HERE = pathlib.Path.cwd()
X = pd.read_csv(HERE / "data" / "stackloss.csv")
chart = T2Chart(X.iloc[:14], alpha=0.01)

# %%
# Phase II: monitor days 15-21 against F limits, and decompose the largest statistic.
new = chart.monitor(X.iloc[14:])
fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4), width_ratios=[2, 1], layout="constrained")
plot.control_chart(new, ax=a1, title="stackloss: Phase II T² chart (days 15-21)")
worst = int(np.argmax(np.asarray(new.statistic)))
if hasattr(new, "decompose"):
    plot.myt_plot(new.decompose(worst), ax=a2)
else:
    plot.myt_plot(chart.decompose(worst), ax=a2)

# %%
# Save the figure the README shows.
(HERE / "figures").mkdir(exist_ok=True)
fig.savefig(HERE / "figures" / "t2_chart_stackloss.png", dpi=120, bbox_inches="tight")
