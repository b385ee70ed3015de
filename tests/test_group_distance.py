"""Mahalanobis' generalised distance between groups, biased and unbiased."""

import numpy as np
import pandas as pd
import pytest

from mahalanobis.inference import group_distance, hotelling_t2


def test_formula_and_relation_to_hotelling():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 3))
    B = rng.standard_normal((30, 3)) + np.array([1.0, 0.0, 0.5])
    g = group_distance(A, B)
    n1, n2, p = 20, 30, 3
    Sp = ((n1 - 1) * np.cov(A, rowvar=False) + (n2 - 1) * np.cov(B, rowvar=False)) / (n1 + n2 - 2)
    d = A.mean(0) - B.mean(0)
    assert g.d2 == pytest.approx(d @ np.linalg.solve(Sp, d), rel=1e-12)
    assert g.statistic == g.d2 and g.distance == pytest.approx(np.sqrt(g.d2))
    assert g.d2_unbiased == pytest.approx(g.d2 * (n1 + n2 - p - 3) / (n1 + n2 - 2)
                                          - p * (1 / n1 + 1 / n2), rel=1e-12)
    assert group_distance(A, B, unbiased=True).statistic == g.d2_unbiased
    t = hotelling_t2(A, B)
    assert t.statistic == pytest.approx(n1 * n2 / (n1 + n2) * g.d2, rel=1e-12)
    assert g.pvalue == pytest.approx(t.pvalue, rel=1e-10)
    assert list(g.to_frame().columns)[:2] == ["d2", "d2_unbiased"]


def test_unbiased_version_is_unbiased():
    rng = np.random.default_rng(1)
    delta = np.array([1.0, 0.0, 0.0])  # population Delta^2 = 1 with identity covariance
    est = np.array([[r.d2, r.d2_unbiased] for r in
                    (group_distance(rng.standard_normal((12, 3)) + delta,
                                    rng.standard_normal((15, 3))) for _ in range(2000))])
    mean, se = est.mean(axis=0), est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert abs(mean[1] - 1.0) < 4 * se[1]          # unbiased
    assert mean[0] - 1.0 > 10 * se[0]               # the plug-in D^2 is biased upwards


def test_dataframes_and_errors():
    rng = np.random.default_rng(2)
    A = pd.DataFrame(rng.standard_normal((10, 2)), columns=["u", "v"])
    B = pd.DataFrame(rng.standard_normal((10, 2)), columns=["v", "u"])
    g = group_distance(A, B)
    assert g.d2 == pytest.approx(group_distance(A, B[["u", "v"]]).d2, rel=1e-12)
    with pytest.raises(ValueError, match="columns"):
        group_distance(rng.standard_normal((5, 2)), rng.standard_normal((5, 3)))
    with pytest.raises(ValueError, match="singular"):
        group_distance(rng.standard_normal((3, 6)), rng.standard_normal((3, 6)))
