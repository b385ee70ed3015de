"""Chi-squared Q-Q plot of robust squared distances on the milk data (8 variables), with a
95% simultaneous envelope: the points above it are the outlying milk samples.

    python examples/qq_plot_milk.py  ->  examples/figures/qq_plot_milk.png
"""

import pathlib

import matplotlib

matplotlib.use("Agg")

import pandas as pd

import mahalanobis as mh
from mahalanobis import plot

HERE = pathlib.Path(__file__).parent
X = pd.read_csv(HERE / "data" / "milk.csv")
metric = mh.fit(X, method="mcd", random_state=0)
ax = plot.qq_plot(metric.distance(X, squared=True), X.shape[1], envelope=0.95)
ax.set_title("milk: robust D² against chi-squared(8)")
(HERE / "figures").mkdir(exist_ok=True)
ax.figure.savefig(HERE / "figures" / "qq_plot_milk.png", dpi=120, bbox_inches="tight")
