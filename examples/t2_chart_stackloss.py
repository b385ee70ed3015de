"""Hotelling T^2 control chart: Phase I on the first 14 days of the stackloss plant data,
Phase II monitoring of the last 7, with the MYT decomposition of the largest Phase II signal.

    python examples/t2_chart_stackloss.py  ->  examples/figures/t2_chart_stackloss.png
"""

import pathlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mahalanobis import plot
from mahalanobis.control import T2Chart

HERE = pathlib.Path(__file__).parent
X = pd.read_csv(HERE / "data" / "stackloss.csv")
chart = T2Chart(X.iloc[:14], alpha=0.01)
new = chart.monitor(X.iloc[14:])
fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4), width_ratios=[2, 1], layout="constrained")
plot.control_chart(new, ax=a1, title="stackloss: Phase II T² chart (days 15-21)")
worst = int(np.argmax(np.asarray(new.statistic)))
if hasattr(new, "decompose"):
    plot.myt_plot(new.decompose(worst), ax=a2)
else:
    plot.myt_plot(chart.decompose(worst), ax=a2)
(HERE / "figures").mkdir(exist_ok=True)
fig.savefig(HERE / "figures" / "t2_chart_stackloss.png", dpi=120, bbox_inches="tight")
