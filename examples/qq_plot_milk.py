"""
Chi-squared Q-Q plot (milk)
===========================

Robust squared distances of the ``milk`` data (85 samples, 8 variables, robustbase) against
chi-squared(8) quantiles, with a 95% simultaneous envelope: the points above the envelope are
the outlying milk samples.

Run as a script: ``python examples/qq_plot_milk.py`` writes ``examples/figures/qq_plot_milk.png``.
"""

# %%
# Fit the MCD and take the robust squared distances of every sample.
import pathlib

import matplotlib

matplotlib.use("Agg")

import pandas as pd

import mahalanobis as mh
from mahalanobis import plot

try:
    HERE = pathlib.Path(__file__).parent
except NameError:  # sphinx-gallery runs the script from its own directory
    HERE = pathlib.Path.cwd()
X = pd.read_csv(HERE / "data" / "milk.csv")
metric = mh.fit(X, method="mcd", random_state=0)
d2 = metric.distance(X, squared=True)

# %%
# The Q-Q plot: clean rows follow the line, outliers rise above the envelope.
ax = plot.qq_plot(d2, X.shape[1], envelope=0.95)
ax.set_title("milk: robust D² against chi-squared(8)")

# %%
# Save the figure the README shows.
(HERE / "figures").mkdir(exist_ok=True)
ax.figure.savefig(HERE / "figures" / "qq_plot_milk.png", dpi=120, bbox_inches="tight")
