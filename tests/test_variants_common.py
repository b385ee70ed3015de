"""What the batch-fitted metric variants share (variants/_common.py): the not-fitted error and
the split-conformal pvalue/outliers pair of KernelMetric and SketchedMetric."""

import numpy as np
import pytest

from mahalanobis.variants import FunctionalMetric, KernelMetric, SketchedMetric


@pytest.mark.parametrize("cls", [KernelMetric, SketchedMetric, FunctionalMetric])
@pytest.mark.parametrize("method", ["distance", "pvalue", "outliers"])
def test_not_fitted_names_the_class(cls, method):
    X = np.random.default_rng(0).standard_normal((5, 3))
    with pytest.raises(ValueError, match=rf"this {cls.__name__} is not fitted yet; call fit"):
        getattr(cls(), method)(X)


@pytest.mark.parametrize("make", [lambda: KernelMetric(gamma=0.5, random_state=1),
                                  lambda: SketchedMetric(k=5, random_state=1)])
def test_conformal_outliers_are_pvalues_at_most_alpha(make):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 8))
    Y = np.vstack([rng.standard_normal((30, 8)), rng.standard_normal((10, 8)) + 4.0])
    m = make().fit(X)
    p = m.pvalue(Y)
    n_cal = round(m.calibration * X.shape[0])
    # p-values take the values (1 + k) / (1 + n_cal), k = 0..n_cal
    k = p * (1 + n_cal) - 1
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    assert p.min() >= 1 / (1 + n_cal) and p.max() <= 1.0
    assert np.all(p[30:] == 1 / (1 + n_cal))    # shifted rows: the smallest p-value
    assert np.median(p[:30]) > 0.2
    np.testing.assert_array_equal(m.pvalue(Y), p)   # calibration computed once, reused
    for alpha in (0.05, 0.3):
        np.testing.assert_array_equal(m.outliers(Y, alpha), p <= alpha)
    with pytest.raises(ValueError, match="alpha"):
        m.outliers(Y, alpha=1.5)
    with pytest.raises(ValueError, match="columns"):
        m.pvalue(np.ones((2, 3)))
