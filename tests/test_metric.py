import tracemalloc

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

import mahalanobis as mh
from mahalanobis import _kernels, _linalg


def _spd(p, rng):
    A = rng.standard_normal((p, p))
    return A @ A.T / p + np.eye(p)


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    p = 6
    S = _spd(p, rng)
    m = rng.standard_normal(p)
    X = rng.standard_normal((500, p)) @ np.linalg.cholesky(S).T + m
    return X, m, S


def _ref_d2(X, m, S):
    return cdist(X, m[None], "mahalanobis", VI=np.linalg.inv(S))[:, 0] ** 2


def test_distance_matches_scipy(setup):
    X, m, S = setup
    metric = mh.Metric(m, S)
    np.testing.assert_allclose(metric.distance(X, squared=True), _ref_d2(X, m, S), rtol=1e-12)
    np.testing.assert_allclose(metric.distance(X), np.sqrt(_ref_d2(X, m, S)), rtol=1e-12)


def test_three_constructors_agree(setup):
    X, m, S = setup
    a = mh.Metric(m, S)
    b = mh.Metric.from_precision(m, np.linalg.inv(S))
    c = mh.Metric.from_cholesky(m, np.linalg.cholesky(S))
    d = mh.Metric.from_cholesky(m, np.linalg.cholesky(S).T, lower=False)
    for other in (b, c, d):
        np.testing.assert_allclose(other.distance(X), a.distance(X), rtol=1e-11)
        np.testing.assert_allclose(other.cov, S, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(other.precision, np.linalg.inv(S), rtol=1e-9, atol=1e-12)
        assert other.log_det == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12)


def test_from_cholesky_flips_negative_columns(setup):
    X, m, S = setup
    L = np.linalg.cholesky(S) * np.array([1, -1, 1, -1, 1, 1])[None, :]
    np.testing.assert_allclose(mh.Metric.from_cholesky(m, L).distance(X),
                               mh.Metric(m, S).distance(X), rtol=1e-12)


def test_properties(setup):
    _, m, S = setup
    metric = mh.Metric(m, S)
    assert metric.n_features == 6
    np.testing.assert_array_equal(metric.center, m)
    np.testing.assert_allclose(metric.cholesky @ metric.cholesky.T, S, rtol=1e-12)
    assert np.allclose(np.triu(metric.cholesky, 1), 0)
    eig = np.linalg.eigvalsh(S)
    assert metric.condition_number == pytest.approx(eig[-1] / eig[0], rel=1e-10)
    assert metric.log_det == pytest.approx(np.sum(np.log(eig)), rel=1e-12)
    with pytest.raises(ValueError):
        metric.center[0] = 1.0  # read-only
    assert "Metric(n_features=6" in repr(metric)


def test_whiten_methods(setup):
    X, m, S = setup
    metric = mh.Metric(m, S)
    d2 = metric.distance(X, squared=True)
    for method in ("cholesky", "zca", "pca"):
        Z = metric.whiten(X, kind=method)
        np.testing.assert_allclose(np.sum(Z**2, axis=1), d2, rtol=1e-10)
        # Whitening maps S to the identity: W S W^T = I.
        ZS = metric.whiten(np.linalg.cholesky(S).T + m, kind=method)  # rows: columns of L
        np.testing.assert_allclose(ZS.T @ ZS, np.eye(6), atol=1e-10)
    Zc = metric.whiten(X, kind="cholesky")
    np.testing.assert_allclose(Zc, np.linalg.solve(np.linalg.cholesky(S), (X - m).T).T,
                               rtol=1e-10, atol=1e-12)
    Zz = metric.whiten(X, kind="zca")
    lam, U = np.linalg.eigh(S)
    np.testing.assert_allclose(Zz, (X - m) @ U @ np.diag(lam**-0.5) @ U.T, rtol=1e-9, atol=1e-12)
    Zp = metric.whiten(X, kind="pca")
    assert np.var(Zp[:, 0] * np.sqrt(lam[-1])) > np.var(Zp[:, -1] * np.sqrt(lam[0]))
    with pytest.raises(ValueError, match="kind must be one of"):
        metric.whiten(X, kind="mahalanobis")


def test_pvalue_and_outliers(setup):
    X, m, S = setup
    metric = mh.Metric(m, S)
    d2 = metric.distance(X, squared=True)
    np.testing.assert_allclose(metric.pvalue(X), stats.chi2.sf(d2, 6), rtol=1e-12)
    flags = metric.outliers(X, alpha=0.05)
    np.testing.assert_array_equal(flags, d2 > stats.chi2.ppf(0.95, 6))
    with pytest.raises(ValueError, match="alpha"):
        metric.outliers(X, alpha=1.5)


@pytest.mark.parametrize("compiled", [True, False])
def test_chunk_boundaries(setup, compiled, monkeypatch):
    """Results do not depend on the blocking (16-row register blocks and BLAS chunks of the
    compiled kernel, chunks of the numpy path), including ragged last blocks."""
    X, m, S = setup
    metric = mh.Metric(m, S)
    W = np.linalg.inv(np.linalg.cholesky(S))
    if not compiled:
        monkeypatch.setattr(_kernels, "C", None)
    for n in (1, 7, 15, 16, 17, 255, 256, 257, 499, 500):
        out = _linalg.sq_norms_of_whitened(X[:n], metric.center, metric._W, True)
        ref = np.sum(((X[:n] - m) @ W.T) ** 2, axis=1)
        np.testing.assert_allclose(out, ref, rtol=1e-13)
    full = metric.distance(X, squared=True)
    for rows in (1, 7, 256, 499, 500, 501):
        out = _linalg._sq_numpy(X, metric.center, metric._W, True, np.empty(X.shape[0]),
                                rows=rows)
        np.testing.assert_allclose(out, full, rtol=1e-13)


def test_input_not_modified(setup):
    X, m, S = setup
    Xc, mc, Sc = X.copy(), m.copy(), S.copy()
    metric = mh.Metric(m, S)
    metric.distance(X)
    metric.whiten(X)
    mh.pairwise(X[:50], cov=S)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(m, mc)
    np.testing.assert_array_equal(S, Sc)


@pytest.mark.parametrize("n", [200_000, 600_000])
def test_batch_memory_is_bounded_by_the_chunk(n):
    """Extra memory is the output plus one chunk buffer per thread (600k x 10 takes the
    threaded path when threadpoolctl is installed), whatever n."""
    rng = np.random.default_rng(1)
    p = 10
    X = rng.standard_normal((n, p))
    metric = mh.Metric(np.zeros(p), np.eye(p) + 0.1)
    metric.distance(X[:10])  # warm up
    tracemalloc.start()
    d2 = metric.distance(X, squared=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    output = X.shape[0] * 8
    chunk = _linalg.CHUNK_BYTES
    threads = _linalg.N_THREADS if n * p >= _linalg.PARALLEL_MIN_ELEMENTS else 1
    assert peak < output + (threads + 0.5) * chunk
    assert peak < X.nbytes / 4
    W = np.linalg.inv(np.linalg.cholesky(metric.cov))
    np.testing.assert_allclose(d2[-1000:], np.sum((X[-1000:] @ W.T) ** 2, axis=1), rtol=1e-12)


def test_dataframe_labels_flow_through(setup):
    X, m, S = setup
    cols = [f"v{i}" for i in range(6)]
    df = pd.DataFrame(X[:20], columns=cols, index=[f"r{i}" for i in range(20)])
    metric = mh.Metric(m, S, feature_names=cols)
    d = metric.distance(df)
    assert isinstance(d, pd.Series)
    assert list(d.index) == list(df.index)
    np.testing.assert_allclose(d.to_numpy(), metric.distance(X[:20]))
    # Columns are matched by name, whatever their order.
    shuffled = df[cols[::-1]]
    np.testing.assert_allclose(metric.distance(shuffled).to_numpy(), d.to_numpy())
    assert isinstance(metric.pvalue(df), pd.Series)
    assert metric.outliers(df).dtype == bool
    Z = metric.whiten(df, kind="pca")
    assert list(Z.columns) == [f"pc{i + 1}" for i in range(6)]


def test_fit_keeps_feature_names():
    rng = np.random.default_rng(2)
    df = pd.DataFrame(rng.standard_normal((50, 3)), columns=["a", "b", "c"])
    metric = mh.fit(df)
    assert metric.feature_names == ("a", "b", "c")
    assert metric.method == "empirical" and metric.n_samples == 50
    np.testing.assert_allclose(metric.distance(df[["c", "a", "b"]]).to_numpy(),
                               metric.distance(df.to_numpy()))


def test_nan_policies(setup):
    X, m, S = setup
    metric = mh.Metric(m, S)
    Xn = X[:10].copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in 1 row\(s\) \(rows \[3\]"):
        metric.distance(Xn)
    with pytest.warns(UserWarning, match=r"dropped 1 row\(s\).*\[3\]"):
        d = metric.distance(Xn, nan_policy="omit")
    assert d.shape == (9,)
    np.testing.assert_allclose(d, metric.distance(np.delete(X[:10], 3, axis=0)))
    d = metric.distance(Xn, nan_policy="propagate")
    assert np.isnan(d[3]) and np.isfinite(np.delete(d, 3)).all()
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        metric.distance(Xn, nan_policy="ignore")


def test_ill_conditioned_warning_and_singular_error():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    Q, _ = np.linalg.qr(A)
    S = Q @ np.diag([1, 1e-3, 1e-7, 1e-11]) @ Q.T
    S = (S + S.T) / 2
    with pytest.warns(mh.IllConditionedWarning, match="ill-conditioned"):
        mh.Metric(np.zeros(4), S)
    S2 = Q @ np.diag([1.0, 1.0, 1.0, 0.0]) @ Q.T
    with pytest.raises(mh.SingularCovarianceError, match="rank 3 of 4") as exc:
        mh.Metric(np.zeros(4), (S2 + S2.T) / 2)
    assert exc.value.rank == 3
    assert "ledoit_wolf" in str(exc.value)
    with pytest.raises(mh.SingularCovarianceError, match="not positive definite"):
        mh.Metric(np.zeros(2), [[1.0, 2.0], [2.0, 1.0]])


def test_threaded_batch_path_equals_single_thread_path(monkeypatch):
    """Large batches (split over threads, ctypes dtrmm) give what the chunk loop gives, for
    lower (covariance) and upper (precision) whitening factors."""
    rng = np.random.default_rng(7)
    p = 8
    X = rng.standard_normal((700_001, p))
    A = rng.standard_normal((p, p))
    S = A @ A.T / p + np.eye(p)
    for metric in (mh.Metric(np.ones(p), S), mh.Metric.from_precision(np.ones(p),
                                                                    np.linalg.inv(S))):
        fast = metric.distance(X, squared=True)
        monkeypatch.setattr(_linalg, "PARALLEL_MIN_ELEMENTS", 10**15)
        slow = metric.distance(X, squared=True)
        monkeypatch.undo()
        np.testing.assert_allclose(fast, slow, rtol=1e-13)
