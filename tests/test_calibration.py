"""Calibration: with known m and S, the share of chi-squared p-values below alpha is alpha."""

import numpy as np
import pytest
from scipy import stats

import mahalanobis as mh


@pytest.mark.parametrize("p", [1, 2, 5, 20])
@pytest.mark.parametrize("alpha", [0.01, 0.025, 0.1])
def test_false_positive_rate_within_binomial_bounds(p, alpha):
    rng = np.random.default_rng(1000 * p + int(1000 * alpha))
    A = rng.standard_normal((p, p))
    S = A @ A.T + 0.5 * np.eye(p)
    m = rng.standard_normal(p)
    n = 40_000
    X = m + rng.standard_normal((n, p)) @ np.linalg.cholesky(S).T
    metric = mh.Metric(m, S)
    k = int(np.sum(metric.pvalue(X) < alpha))
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, alpha)
    assert lo <= k <= hi
    assert int(metric.outliers(X, alpha=alpha).sum()) == k
