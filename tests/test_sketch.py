import numpy as np
import pytest
from scipy import stats

import mahalanobis as mh
from mahalanobis.variants.sketched import SketchedMetric, chi2_failure_probability


def _data(n, p, rng, q=5):
    F = rng.standard_normal((p, q))
    return rng.standard_normal((n, q)) @ F.T + 0.5 * rng.standard_normal((n, p))


def test_exact_distance_is_regularised_mahalanobis():
    rng = np.random.default_rng(0)
    X = _data(40, 10, rng)
    Y = _data(7, 10, rng)
    for reg in (0.0, 0.2):
        sm = SketchedMetric(reg=reg).fit(X)
        S = np.cov(X.T) + sm.ridge_ * np.eye(10)
        ref = mh.Metric(X.mean(axis=0), S).distance(Y)
        np.testing.assert_allclose(sm.exact_distance(Y), ref, rtol=1e-12)
    assert sm.ridge_ == pytest.approx(0.2 * np.trace(np.cov(X.T)) / 10)


def test_ratio_follows_chi2_over_sketches():
    """For a fixed point, Dhat^2 / D^2 over independent sketches is chi2_k / k."""
    rng = np.random.default_rng(1)
    X = _data(30, 300, rng)
    y = _data(1, 300, rng)
    k = 16
    sm = SketchedMetric(k=k).fit(X)
    exact = sm.exact_distance(y, squared=True)[0]
    ratios = np.array([sm.resketch(s).distance(y, squared=True)[0] / exact for s in range(300)])
    # resketch(seed) is fit(random_state=seed) without the refit
    np.testing.assert_array_equal(
        sm.resketch(3).components_, SketchedMetric(k=k, random_state=3).fit(X).components_)
    assert stats.kstest(ratios * k, stats.chi2(k).cdf).pvalue > 0.01


def test_bound_holds_at_stated_probability_over_seeds():
    rng = np.random.default_rng(2)
    n, p, k, delta = 60, 800, 64, 0.1
    X, Y = _data(n, p, rng), _data(40, p, rng)
    ref = SketchedMetric(k=k).fit(X).exact_distance(Y)
    eps = SketchedMetric(k=k).error_bound(delta)
    assert chi2_failure_probability(eps, k, squared=False) == pytest.approx(delta)
    miss = []
    for seed in range(25):
        d = SketchedMetric(k=k, random_state=seed).fit(X).distance(Y)
        miss.append(np.abs(d / ref - 1) > eps)
    rate = np.mean(miss)  # 1000 (point, sketch) pairs; expected 0.1
    assert rate < delta + 0.04


def test_median_of_sketches_tightens_the_error():
    rng = np.random.default_rng(3)
    X, Y = _data(50, 500, rng), _data(200, 500, rng)
    ref = SketchedMetric().fit(X).exact_distance(Y)
    one = SketchedMetric(k=32, random_state=0).fit(X)
    five = SketchedMetric(k=32, n_sketches=5, random_state=0).fit(X)
    e1 = np.quantile(np.abs(one.distance(Y) / ref - 1), 0.9)
    e5 = np.quantile(np.abs(five.distance(Y) / ref - 1), 0.9)
    assert e5 < e1
    assert five.error_bound(0.1) < one.error_bound(0.1)
    # exact binomial tail for the median of 5
    q = chi2_failure_probability(0.2, 32)
    assert chi2_failure_probability(0.2, 32, n_sketches=5) < q


def test_transform_pairwise_and_sparse_kind():
    rng = np.random.default_rng(4)
    X = _data(40, 400, rng)
    sm = SketchedMetric(k=400, random_state=0).fit(X)
    Z = sm.transform(X[:5])
    V = X[:5, None, :] - X[None, :5, :]
    exact = SketchedMetric().fit(X)
    # pairwise regularised distance through the exact whitening: D(x_i - x_j + m)
    D = np.array([[exact.exact_distance((V[i, j] + exact.center_)[None])[0]
                   for j in range(5)] for i in range(5)])
    Dhat = np.sqrt(((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1))
    off = ~np.eye(5, dtype=bool)
    assert np.max(np.abs(Dhat[off] / D[off] - 1)) < 0.25
    sp = SketchedMetric(k=400, kind="sparse", random_state=0).fit(X)
    assert np.median(np.abs(sp.distance(X) / exact.exact_distance(X) - 1)) < 0.1
    with pytest.raises(ValueError, match="gaussian"):
        sp.failure_probability(0.1)


def test_deterministic_and_errors():
    rng = np.random.default_rng(5)
    X = _data(20, 50, rng)
    a = SketchedMetric(k=10, random_state=7).fit(X).distance(X)
    b = SketchedMetric(k=10, random_state=7).fit(X).distance(X)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="k must"):
        SketchedMetric(k=0).fit(X)
    with pytest.raises(ValueError, match="reg"):
        SketchedMetric(reg=0.0).fit(X)
    with pytest.raises(ValueError, match="not fitted"):
        SketchedMetric().distance(X)
    assert "SketchedMetric(k=10" in repr(SketchedMetric(k=10).fit(X))
