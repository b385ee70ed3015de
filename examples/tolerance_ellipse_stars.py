"""
Tolerance ellipses (starsCYG)
=============================

The Hertzsprung-Russell data of star cluster CYG OB1 (``starsCYG``, robustbase): log surface
temperature against log light intensity of 47 stars. The four red giants (rows 10, 19, 29, 33,
0-based) pull the classical 97.5% tolerance ellipse towards them; the robust (MCD) ellipse fits
the main sequence and leaves them outside.

Run as a script: ``python examples/tolerance_ellipse_stars.py`` writes
``examples/figures/tolerance_ellipse_stars.png``.
"""

# %%
# Load the data.
import pathlib

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from mahalanobis import plot

try:
    HERE = pathlib.Path(__file__).parent
except NameError:  # sphinx-gallery runs the script from its own directory
    HERE = pathlib.Path.cwd()
X = pd.read_csv(HERE / "data" / "starsCYG.csv")

# %%
# Classical and robust ellipses on one plot.
ax = plot.tolerance_ellipse(X, level=0.975, random_state=0)
ax.set_title("starsCYG: classical vs robust 97.5% tolerance ellipses")

# %%
# Save the figure the README shows.
(HERE / "figures").mkdir(exist_ok=True)
ax.figure.savefig(HERE / "figures" / "tolerance_ellipse_stars.png", dpi=120,
                  bbox_inches="tight")
