"""
Robust outliers with missing cells (airquality)
===============================================

Outliers of R's airquality data (New York, 1973) without dropping incomplete days: 42 of
153 days lack the ozone or the solar radiation reading. The MCD is fitted with the missing
cells (EM inside its C-steps) and every day is judged on the coordinates it has; the Q-Q plot
shows each day's D² as the chi-squared(4) quantile of its p-value.

    python examples/missing_airquality.py  ->  examples/figures/missing_airquality.png
"""

import pathlib

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from scipy import stats

import mahalanobis as mh
from mahalanobis import plot

try:
    HERE = pathlib.Path(__file__).parent
except NameError:  # sphinx-gallery runs the script from its own directory
    HERE = pathlib.Path.cwd()
X = pd.read_csv(HERE / "data" / "airquality.csv")[["Ozone", "Solar.R", "Wind", "Temp"]]
fit = mh.fit(X, method="mcd", nan_policy="em", random_state=0)
pvalue, k = fit.pvalue(X, nan_policy="marginal", return_counts=True)
flags = fit.outliers(X, 0.025, nan_policy="marginal")
print(fit)
print(pd.DataFrame({"pvalue": pvalue, "n_observed": k})[flags].join(X))
d2_on_chi2_4 = stats.chi2.isf(np.asarray(pvalue), X.shape[1])  # same scale for every day
ax = plot.qq_plot(d2_on_chi2_4, X.shape[1], envelope=0.95)
n_incomplete = int((np.asarray(k) < X.shape[1]).sum())
ax.set_title(f"airquality, {n_incomplete} incomplete days kept: robust D² on the "
             "chi-squared(4) scale")
(HERE / "figures").mkdir(exist_ok=True)
ax.figure.savefig(HERE / "figures" / "missing_airquality.png", dpi=120, bbox_inches="tight")
