import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mahalanobis as mh
from mahalanobis import _cholupdate
from mahalanobis.variants import online
from mahalanobis.variants.online import CholeskyDowndateWarning, OnlineMetric


def _rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


def _batch_d2(Y, X):
    S = np.cov(X.T)
    V = Y - X.mean(axis=0)
    return np.einsum("ij,ji->i", V, np.linalg.solve(S, V.T))


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    p = 4
    A = rng.standard_normal((p, p)) + 2 * np.eye(p)
    return rng.standard_normal((20_000, p)) @ A + 5.0, rng.standard_normal((25, p))


@pytest.mark.parametrize("p", [1, 2, 7, 30])
def test_cholesky_update_and_downdate_match_refactorisation(p):
    rng = np.random.default_rng(p)
    A = rng.standard_normal((2 * p + 3, p))
    M = A.T @ A
    L = np.linalg.cholesky(M)
    x = rng.standard_normal(p)
    L1 = _cholupdate.chol_update(L, x)
    np.testing.assert_allclose(L1, np.linalg.cholesky(M + np.outer(x, x)), rtol=0, atol=1e-12)
    assert np.allclose(np.triu(L1, 1), 0.0)
    L2 = _cholupdate.chol_downdate(L1, x)
    np.testing.assert_allclose(L2, L, rtol=0, atol=1e-12 * np.abs(L).max())


def test_failing_downdate_returns_none():
    L = np.eye(3)
    assert _cholupdate.chol_downdate(L, np.array([1.0, 0.0, 0.0])) is None
    assert _cholupdate.chol_downdate(L, np.array([0.0, 0.0, 2.0])) is None


def test_single_point_updates_and_removals_match_batch(data):
    X, Y = data
    om = OnlineMetric()
    for x in X:
        om.partial_fit(x[None, :])
    assert om.n_samples == X.shape[0]
    assert _rel(om.center, X.mean(axis=0)) < 1e-10
    assert _rel(om.cov, np.cov(X.T)) < 1e-10
    assert _rel(om.distance(Y, squared=True), _batch_d2(Y, X)) < 1e-10
    # remove the first 15000 points one at a time: the estimate is that of the rest.
    for x in X[:15_000]:
        om.remove(x[None, :])
    rest = X[15_000:]
    assert om.n_samples == rest.shape[0]
    assert _rel(om.center, rest.mean(axis=0)) < 1e-10
    assert _rel(om.cov, np.cov(rest.T)) < 1e-10
    assert _rel(om.distance(Y, squared=True), _batch_d2(Y, rest)) < 1e-10
    np.testing.assert_allclose(om.distance(Y) ** 2, om.distance(Y, squared=True), rtol=1e-14)
    # the maintained factor is that of the covariance
    C = om.cholesky
    assert _rel(C @ C.T, np.cov(rest.T)) < 1e-10


def test_factor_is_kept_by_rank_one_updates_not_refactorisation(data, monkeypatch):
    X, _ = data
    monkeypatch.setattr(online, "REFACTOR_EVERY", 10**9)
    calls = []
    om = OnlineMetric()
    om.partial_fit(X[:10])
    orig = om._refactor
    monkeypatch.setattr(om, "_refactor", lambda: (calls.append(1), orig())[1])
    for x in X[10:3000]:
        om.partial_fit(x[None, :])
    for x in X[:2000]:
        om.remove(x[None, :])
    assert calls == []
    L = om._L
    assert _rel(L @ L.T, np.cov(X[2000:3000].T) * 999) < 1e-11


def test_chunks_merge_and_whole_agree(data):
    X, Y = data
    X = X[:3000]
    a = OnlineMetric().partial_fit(X[:1000]).partial_fit(X[1000:1002]).partial_fit(X[1002:1700])
    b = OnlineMetric()
    for s in range(1700, 3000, 3):  # chunks of 3 rows < p + 1: rank-one path
        b.partial_fit(X[s:s + 3])
    whole = OnlineMetric().partial_fit(X)
    merged = a.merge(b)
    assert merged.n_samples == 3000 and a.n_samples == 1700  # inputs untouched
    for om in (merged, whole, b.merge(a)):
        assert _rel(om.center, X.mean(axis=0)) < 1e-12
        assert _rel(om.cov, np.cov(X.T)) < 1e-12
        assert _rel(om.distance(Y, squared=True), _batch_d2(Y, X)) < 1e-11
    empty = OnlineMetric()
    assert _rel(empty.merge(a).cov, a.cov) == 0


def test_forgetting_matches_weighted_covariance(data):
    X, Y = data
    lam = 0.97
    X = X[:400]
    om = OnlineMetric(forgetting=lam)
    om.partial_fit(X[:150])
    for x in X[150:]:
        om.partial_fit(x[None, :])
    w = lam ** np.arange(X.shape[0] - 1, -1, -1)
    m = np.average(X, axis=0, weights=w)
    S = np.cov(X.T, aweights=w)
    assert _rel(om.center, m) < 1e-12
    assert _rel(om.cov, S) < 1e-12
    assert om.weight_sum == pytest.approx(w.sum(), rel=1e-13)
    V = Y - m
    assert _rel(om.distance(Y, squared=True),
                np.einsum("ij,ji->i", V, np.linalg.solve(S, V.T))) < 1e-10
    assert "forgetting=0.97" in repr(om)


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_window_equals_batch_fit_of_last_points(data, chunk):
    X, Y = data
    X = X[:1500]
    om = OnlineMetric(window=200)
    for s in range(0, X.shape[0], chunk):
        om.partial_fit(X[s:s + chunk])
        if s == 100:
            assert om.n_samples == min(s + chunk, 200)
    last = X[-200:]
    assert om.n_samples == 200
    assert _rel(om.center, last.mean(axis=0)) < 1e-11
    assert _rel(om.cov, np.cov(last.T)) < 1e-11
    assert _rel(om.distance(Y, squared=True), _batch_d2(Y, last)) < 1e-10


def test_to_metric_is_a_plain_metric(data):
    X, Y = data
    om = OnlineMetric().partial_fit(X[:500])
    m = om.to_metric()
    assert type(m) is mh.Metric
    np.testing.assert_allclose(m.distance(Y), om.distance(Y), rtol=1e-12)
    ref = mh.covariance.empirical(X[:500])
    np.testing.assert_allclose(m.distance(Y), ref.distance(Y), rtol=1e-10)


def test_failing_downdate_warns_and_refactorises():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 3))
    om = OnlineMetric().partial_fit(X)
    # removing a point that was never added (far out) makes the co-moment indefinite
    with pytest.warns(CholeskyDowndateWarning, match="downdate failed"):
        om.remove(np.array([[40.0, 0.0, 0.0]]))
    with pytest.raises(mh.SingularCovarianceError):
        om.distance(X)


def test_not_enough_points_and_argument_errors():
    om = OnlineMetric()
    with pytest.raises(ValueError, match="partial_fit"):
        om.center
    om.partial_fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        om.cov
    om.partial_fit(np.eye(3))  # 4 points in 3-d, but the last three span a plane + the first
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        om.partial_fit(np.zeros((1, 3)))
    assert om.distance(np.zeros((1, 3))).shape == (1,)
    with pytest.raises(ValueError, match="columns"):
        om.partial_fit(np.ones((2, 4)))
    with pytest.raises(ValueError, match="forgetting"):
        OnlineMetric(forgetting=1.5)
    with pytest.raises(ValueError, match="window"):
        OnlineMetric(window=1)
    with pytest.raises(ValueError, match="not both"):
        OnlineMetric(forgetting=0.9, window=10)
    with pytest.raises(ValueError, match="remove"):
        OnlineMetric(window=10).remove(np.ones((1, 2)))
    with pytest.raises(ValueError, match="window"):
        OnlineMetric(window=10).merge(OnlineMetric())
    with pytest.raises(ValueError, match="window=3 is not larger"):
        OnlineMetric(window=3).partial_fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="forgetting"):
        OnlineMetric(forgetting=0.9).merge(OnlineMetric())


def test_singular_until_enough_points():
    om = OnlineMetric().partial_fit(np.random.default_rng(0).standard_normal((3, 3)))
    with pytest.raises(mh.SingularCovarianceError, match="more than 3"):
        om.distance(np.zeros((1, 3)))
    om.partial_fit(np.ones((1, 3)))
    assert np.isfinite(om.distance(np.zeros((1, 3)))).all()


def test_large_offset_and_removing_most_of_the_stream():
    """Compensated sums about a shift: a 1e6 offset and removing 95% of the points cost no
    accuracy (plain running means would keep the error of the large intermediate sums)."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((6000, 3)) @ np.diag([1.0, 2.0, 0.5]) + 1e6
    om = OnlineMetric()
    for x in X:
        om.partial_fit(x[None, :])
    for x in X[:5700]:
        om.remove(x[None, :])
    rest = X[5700:]
    # centre to within a few ulps of 1e6 (1.2e-10), i.e. ~1e-9 of the spread
    assert np.max(np.abs((om.center - 1e6) - (rest - 1e6).mean(axis=0))) < 1e-9
    # reference covariance from centred data (np.cov at a 1e6 offset is itself accurate)
    assert _rel(om.cov, np.cov((rest - 1e6).T)) < 1e-9
    Y = rest[:10]
    assert _rel(om.distance(Y, squared=True), _batch_d2(Y - 1e6, rest - 1e6)) < 1e-7


def test_forgetting_chunks_equal_single_points(data):
    X, Y = data
    a = OnlineMetric(forgetting=0.9).partial_fit(X[:300])
    b = OnlineMetric(forgetting=0.9)
    for x in X[:300]:
        b.partial_fit(x[None, :])
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-13)
    np.testing.assert_allclose(a.distance(Y), b.distance(Y), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 4)), min_size=1, max_size=30),
       st.integers(0, 2**31 - 1))
def test_any_sequence_of_adds_and_removes_matches_batch(ops, seed):
    """Property: whatever the order of chunked adds and removals (first-in, first-out), the
    state equals the batch statistics of the points currently held."""
    rng = np.random.default_rng(seed)
    p = 3
    pool = rng.standard_normal((200, p)) * [1.0, 3.0, 0.2] + 10.0
    om = OnlineMetric().partial_fit(pool[:8])
    lo, hi = 0, 8
    for add, m in ops:
        if add and hi + m <= pool.shape[0]:
            om.partial_fit(pool[hi:hi + m])
            hi += m
        elif not add and hi - lo - m >= 6:
            om.remove(pool[lo:lo + m])
            lo += m
    held = pool[lo:hi]
    assert om.n_samples == held.shape[0]
    np.testing.assert_allclose(om.center, held.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(om.cov, np.cov(held.T), rtol=1e-9, atol=1e-12)
    Y = pool[:5]
    np.testing.assert_allclose(om.distance(Y, squared=True), _batch_d2(Y, held), rtol=1e-8)
