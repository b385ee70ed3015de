"""Old public names keep working for one release, with a FutureWarning and the same result."""

import numpy as np
import pytest

import mahalanobis as mh
from mahalanobis.covariance import h_alpha_n, mcd_consistency, mcd_small_sample

OLD = "the old spelling stops working"


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((60, 3))


def test_mcd_alpha_is_support_fraction(X):
    with pytest.warns(FutureWarning, match=OLD):
        old = mh.covariance.mcd(X, alpha=0.75, random_state=0)
    new = mh.covariance.mcd(X, support_fraction=0.75, random_state=0)
    np.testing.assert_array_equal(old.cov, new.cov)
    with pytest.warns(FutureWarning, match=r"MCDResult\.alpha is now \.support_fraction"):
        assert old.alpha == new.support_fraction == 0.75
    with pytest.raises(TypeError, match="only support_fraction"):
        mh.covariance.mcd(X, alpha=0.75, support_fraction=0.75)


def test_mrcd_and_factor_helpers(X):
    with pytest.warns(FutureWarning, match=OLD):
        old = mh.fit(X, method="mrcd", alpha=0.6)
    assert old.support_fraction == 0.6
    with pytest.warns(FutureWarning, match=OLD):
        assert h_alpha_n(alpha=0.75, n=60, p=3) == h_alpha_n(0.75, 60, 3)
    with pytest.warns(FutureWarning, match=OLD):
        assert mcd_consistency(3, alpha=0.5) == mcd_consistency(3, 0.5)
    with pytest.warns(FutureWarning, match=OLD):
        assert mcd_small_sample(3, 60, alpha=0.5) == mcd_small_sample(3, 60, 0.5)


def test_squared_by_position_and_whitening_method(X):
    m = mh.fit(X)
    with pytest.warns(FutureWarning, match="by keyword"):
        d2 = m.distance(X, True)
    np.testing.assert_array_equal(d2, m.distance(X, squared=True))
    with pytest.warns(FutureWarning, match="kind='zca'"):
        Z = m.whiten(X, method="zca")
    np.testing.assert_array_equal(Z, m.whiten(X, kind="zca"))
    with pytest.warns(FutureWarning, match="kind='pca'"):
        Z = mh.whiten(X, m.center, m.cov, method="pca")
    np.testing.assert_array_equal(Z, m.whiten(X, kind="pca"))


def test_chart_robust_and_monitor_new_x(X):
    with pytest.warns(FutureWarning, match="method='mcd'"):
        c = mh.T2Chart(X, robust=True, random_state=0, calibration="cerioli")
    assert c.method == "mcd" and c.robust
    with pytest.warns(FutureWarning, match="X="):
        old = c.monitor(new_X=X[:5])
    np.testing.assert_array_equal(old.statistic, c.monitor(X[:5]).statistic)


def test_group_distance_a_b(X):
    with pytest.warns(FutureWarning, match=OLD):
        old = mh.group_distance(A=X[:30], B=X[30:])
    assert old.d2 == mh.group_distance(X[:30], X[30:]).d2


def test_ml_estimator_is_method(X):
    pytest.importorskip("sklearn")
    from mahalanobis.ml import MahalanobisClassifier, MahalanobisWhitener

    with pytest.warns(FutureWarning) as record:
        w = MahalanobisWhitener(estimator="ledoit_wolf", method="zca")
    said = " ".join(str(r.message) for r in record)
    assert "kind='zca'" in said and "method='ledoit_wolf'" in said
    assert (w.method, w.kind) == ("ledoit_wolf", "zca")
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(FutureWarning, match="method_options"):
        clf = MahalanobisClassifier(estimator_options={"ddof": 0}).fit(X, y)
    assert clf.method_options == {"ddof": 0}


def test_fit_results_are_immutable(X):
    r = mh.covariance.mcd(X, random_state=0)
    with pytest.raises(AttributeError, match="immutable"):
        r.h = -5
    with pytest.raises(AttributeError, match="immutable"):
        r.center = np.zeros(3)
    with pytest.raises(ValueError, match="read-only"):
        r.weights[0] = False
    with pytest.raises(TypeError, match="returned by an estimator"):
        mh.covariance.MCDResult(np.zeros(3), np.eye(3))
    m = mh.Metric(np.zeros(3), np.eye(3))
    with pytest.raises(AttributeError, match="immutable"):
        m.n_samples = 10
