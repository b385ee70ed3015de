"""
Distance-distance plot (hbk)
============================

The Hawkins-Bradu-Kass data (``hbk``, robustbase) have 75 rows in 3 variables with 14 planted
outliers (rows 0-13). The classical fit is pulled towards them until they are masked; the
robust (MCD) distances show them. Each point is one row: its classical distance against its
robust distance, with the chi-squared cutoff at ``alpha = 0.025`` on both axes.

Run as a script: ``python examples/distance_distance_hbk.py`` writes
``examples/figures/distance_distance_hbk.png``.
"""

# %%
# Load the three explanatory variables of ``hbk``.
import pathlib

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from mahalanobis import plot

try:
    HERE = pathlib.Path(__file__).parent
except NameError:  # sphinx-gallery runs the script from its own directory
    HERE = pathlib.Path.cwd()
X = pd.read_csv(HERE / "data" / "hbk.csv")[["X1", "X2", "X3"]]

# %%
# Classical against robust distances. The 14 outliers sit far right of the robust cutoff while
# the classical distances leave most of them below theirs.
ax = plot.distance_distance(X, alpha=0.025, random_state=0)

# %%
# Save the figure the README shows.
(HERE / "figures").mkdir(exist_ok=True)
ax.figure.savefig(HERE / "figures" / "distance_distance_hbk.png", dpi=120, bbox_inches="tight")
