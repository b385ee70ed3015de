"""Distance-distance plot of the Hawkins-Bradu-Kass data (hbk): the 14 planted outliers
(rows 0-13) are masked in the classical fit and stand out in the robust (MCD) one.

    python examples/distance_distance_hbk.py  ->  examples/figures/distance_distance_hbk.png
"""

import pathlib

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from mahalanobis import plot

HERE = pathlib.Path(__file__).parent
X = pd.read_csv(HERE / "data" / "hbk.csv")[["X1", "X2", "X3"]]
ax = plot.distance_distance(X, alpha=0.025, random_state=0)
(HERE / "figures").mkdir(exist_ok=True)
ax.figure.savefig(HERE / "figures" / "distance_distance_hbk.png", dpi=120, bbox_inches="tight")
