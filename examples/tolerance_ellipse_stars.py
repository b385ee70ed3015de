"""Tolerance ellipses on the Hertzsprung-Russell data of star cluster CYG OB1 (starsCYG).

The four red giants (rows 10, 19, 29, 33, 0-based) pull the classical ellipse towards them;
the robust (MCD) ellipse fits the main sequence and leaves them outside.

    python examples/tolerance_ellipse_stars.py   ->  examples/figures/tolerance_ellipse_stars.png
"""

import pathlib

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from mahalanobis import plot

HERE = pathlib.Path(__file__).parent
X = pd.read_csv(HERE / "data" / "starsCYG.csv")
ax = plot.tolerance_ellipse(X, level=0.975, random_state=0)
ax.set_title("starsCYG: classical vs robust 97.5% tolerance ellipses")
(HERE / "figures").mkdir(exist_ok=True)
ax.figure.savefig(HERE / "figures" / "tolerance_ellipse_stars.png", dpi=120,
                  bbox_inches="tight")
