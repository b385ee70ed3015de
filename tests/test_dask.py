"""The dask back end against the in-memory results, on a real 2-worker LocalCluster."""

from __future__ import annotations

import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import mahalanobis as mh  # noqa: E402
from mahalanobis._dask._io import outliers_dask  # noqa: E402
from mahalanobis._dask._pairwise import pairwise_dask  # noqa: E402
from mahalanobis._validation import as_data  # noqa: E402
from mahalanobis.covariance._mcd_fast import MAX_CSTEPS, _Batch, _concentrate  # noqa: E402
from mahalanobis.covariance.mcd import _finish, mcd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _data(n=2000, p=4, seed=0, offset=5.0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p)) + 2 * np.eye(p)
    return rng.normal(size=(n, p)) @ A.T + offset


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# ---------------------------------------------------------------------------- empirical
@pytest.mark.parametrize("chunks", [(300, 4), (257, 2), (2000, 4)])
def test_empirical_array_equals_in_memory(client, chunks):
    X = _data()
    Xd = da.from_array(X, chunks=chunks)
    m, ref = mh.fit(Xd), mh.fit(X)
    assert type(m) is mh.covariance.FitResult and m.method == "empirical" and m.n_samples == 2000
    assert _rel(m.center, ref.center) < 1e-12
    assert _rel(m.cov, ref.cov) < 1e-12
    d = m.distance(Xd)
    assert isinstance(d, da.Array)
    assert _rel(d.compute(), ref.distance(X)) < 1e-12
    # the scoring path alone is the in-memory kernel, row for row
    assert _rel(ref.distance(Xd, squared=True).compute(), ref.distance(X, squared=True)) < 1e-14


def test_empirical_large_offset_and_given_location(client):
    X = _data(offset=1e6)
    Xd = da.from_array(X, chunks=(300, 4))
    assert _rel(mh.fit(Xd).cov, mh.fit(X).cov) < 1e-9  # offset 1e6: the inputs' own rounding
    loc = np.full(4, 1e6)
    m = mh.fit(Xd, location=loc)
    ref = mh.fit(X, location=loc)
    assert _rel(m.cov, ref.cov) < 1e-12 and np.array_equal(m.center, ref.center)
    with pytest.raises(ValueError, match="median"):
        mh.fit(Xd, location="median")


def test_dataframe_index_names_and_lazy_outputs(client):
    X = _data(n=1500)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"], index=np.arange(1500) * 7 + 3)
    ddf = dd.from_pandas(df, npartitions=4)
    m, ref = mh.fit(ddf), mh.fit(df)
    assert m.feature_names == ("a", "b", "c", "d") and m.n_samples == 1500
    assert _rel(m.cov, ref.cov) < 1e-12
    # columns are matched by name, whatever their order
    shuffled = ddf[["c", "a", "d", "b"]]
    for lazy, eager in [(m.distance(shuffled), ref.distance(df)),
                        (m.pvalue(ddf), ref.pvalue(df)),
                        (m.outliers(ddf, alpha=0.05), ref.outliers(df, alpha=0.05))]:
        assert isinstance(lazy, dd.Series)
        got = lazy.compute()
        assert got.index.equals(df.index) and got.name == eager.name
        if got.dtype == bool:
            assert (got == eager).all()
        else:
            assert _rel(got, eager) < 1e-12


def test_non_numeric_columns_and_bad_input(client):
    df = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0) ** 2,
                       "name": [f"r{i}" for i in range(10)]})
    ddf = dd.from_pandas(df, npartitions=2)
    with pytest.raises(ValueError, match=r"non-numeric column.*'name'"):
        mh.fit(ddf)
    m = mh.fit(_data(n=50, p=2))
    with pytest.raises(ValueError, match="non-numeric"):
        m.distance(ddf[["x", "name"]])
    with pytest.raises(ValueError, match="2-D"):
        mh.fit(da.ones(10, chunks=5))
    with pytest.raises(ValueError, match="not available for dask"):
        mh.fit(da.from_array(_data(n=50)), method="modified_cholesky")
    with pytest.raises(mh.errors.SingularCovarianceError, match="constant column"):
        mh.fit(da.from_array(np.c_[np.arange(20.0), np.ones(20)], chunks=7))


def test_nan_policy(client):
    X = _data(n=600)
    X[[5, 400]] = np.nan
    Xd = da.from_array(X, chunks=(100, 4))
    with pytest.raises(ValueError, match=r"NaN or infinite values \(rows \[(5|400)\]"):
        mh.fit(Xd)
    m = mh.fit(Xd, nan_policy="omit")
    ref = mh.fit(X, nan_policy="omit")
    assert m.n_samples == 598 and m.omitted.tolist() == ref.omitted.tolist() == [5, 400]
    assert _rel(m.cov, ref.cov) < 1e-12
    lazy = m.distance(Xd)  # building the graph does not fail ...
    with pytest.raises(ValueError, match=r"rows \[400\]"):
        lazy[300:].compute()  # ... computing it does, naming the row
    kept = m.distance(Xd, nan_policy="omit").compute()
    assert kept.shape == (598,)
    with pytest.warns(UserWarning, match="dropped 2 row"):
        eager = ref.distance(X, nan_policy="omit")
    assert _rel(kept, eager) < 1e-12
    prop = m.distance(Xd, nan_policy="propagate").compute()
    assert np.isnan(prop[[5, 400]]).all()
    r = mh.fit(Xd, method="mcd", nan_policy="omit", random_state=0)
    r0 = mcd(X, nan_policy="omit", random_state=0)
    assert r.n_samples == 598 and r.omitted.tolist() == [5, 400]
    assert abs(r.log_det_raw / r0.log_det_raw - 1) < 1e-9
    assert np.array_equal(r.weights.compute(), r0.weights)
    with pytest.raises(ValueError, match="NaN or infinite"):
        mh.fit(Xd, method="mcd")


# ---------------------------------------------------------------------------- pairwise
def test_pairwise_dask_equals_pairwise(client):
    rng = np.random.default_rng(1)
    XA, XB = rng.normal(size=(300, 5)) + 2, rng.normal(size=(170, 5))
    S = np.cov(XA.T) + 0.1 * np.eye(5)
    A, B = da.from_array(XA, chunks=(64, 3)), da.from_array(XB, chunks=(50, 5))
    got = pairwise_dask(A, cov=S)
    assert isinstance(got, da.Array) and got.chunks[0][0] == 64
    got = got.compute()
    ref = mh.pairwise(XA, cov=S)
    assert np.array_equal(got, got.T) and np.all(np.diag(got) == 0)
    assert _rel(got, ref) < 1e-12
    P = np.linalg.inv(S)
    assert _rel(pairwise_dask(A, B, precision=P, squared=True).compute(),
                mh.pairwise(XA, XB, precision=P, squared=True)) < 1e-12
    assert _rel(pairwise_dask(A, B).compute(), mh.pairwise(XA, XB)) < 1e-12
    # mh.pairwise itself routes dask input to the blocked kernel and stays lazy
    lazy = mh.pairwise(A, B, cov=S)
    assert isinstance(lazy, da.Array)
    assert _rel(lazy.compute(), mh.pairwise(XA, XB, cov=S)) < 1e-12


# ---------------------------------------------------------------------------- MCD
def _contaminated(n=2000, p=4, seed=3):
    X = _data(n=n, p=p, seed=seed, offset=1.0)
    X[: n // 12] += 8.0
    return X


def test_mcd_whole_data_sample_equals_in_memory(client):
    X = _contaminated()
    Xd = da.from_array(X, chunks=(300, 4))
    r = mh.fit(Xd, method="mcd", random_state=7)
    ref = mcd(X, random_state=7)
    assert r.sample_size == 2000 and r.h == ref.h
    assert abs(r.log_det_raw / ref.log_det_raw - 1) < 1e-9
    assert _rel(r.raw_cov, ref.raw_cov) < 1e-9 and _rel(r.cov, ref.cov) < 1e-9
    for name in ("consistency_raw", "small_sample_raw", "consistency_rew", "small_sample_rew"):
        assert getattr(r, name) == pytest.approx(getattr(ref, name), rel=1e-14)
    assert isinstance(r.support, da.Array)
    assert np.array_equal(r.support.compute(), ref.support)
    assert np.array_equal(r.weights.compute(), ref.weights)
    assert np.array_equal(r.outliers(Xd).compute(), ref.outliers(X))
    assert "n_outliers" in repr(r)


def test_mcd_from_sample_matches_in_memory_csteps_from_same_start(client):
    X = _contaminated(n=3000, seed=4)
    Xd = da.from_array(X, chunks=(400, 4))
    r = mh.fit(Xd, method="mcd", random_state=11, sample_size=600)
    assert r.sample_size == 600
    # the in-memory C-step kernel, started from the same estimate, on all rows
    L = np.linalg.cholesky(r.start_cov)
    start = _Batch(np.zeros((1, 0), dtype=np.intp), r.start_center[None].copy(), L[None].copy(),
                   np.zeros(1))

    def on_singular(rows):  # pragma: no cover
        raise AssertionError("singular subset")

    final, steps = _concentrate(X, r.h, start, MAX_CSTEPS, on_singular)
    assert abs(final.logdet[0] / r.log_det_raw - 1) < 1e-9
    ref = _finish(X, as_data(X), final.idx[0], r.h, 0.5, "FastMCD", True, True,
                  int(steps[0]), ())
    assert _rel(r.cov, ref.cov) < 1e-9
    assert np.array_equal(r.support.compute(), ref.support)
    assert np.array_equal(r.outliers(Xd).compute(), ref.outliers(X))
    # same seed, same result
    r2 = mh.fit(Xd, method="mcd", random_state=11, sample_size=600)
    assert r2.log_det_raw == r.log_det_raw


def test_mcd_dataframe_lazy_masks_keep_index(client):
    X = _contaminated(n=900, p=3)
    df = pd.DataFrame(X, columns=["u", "v", "w"], index=np.arange(900) + 10_000)
    r = mh.fit(dd.from_pandas(df, npartitions=3), method="mcd", random_state=0)
    ref = mcd(df, random_state=0)
    assert r.feature_names == ("u", "v", "w")
    w = r.weights.compute()
    assert w.index.equals(df.index) and np.array_equal(w.to_numpy(), ref.weights)


# ---------------------------------------------------------------------------- CLI helper
@pytest.fixture(scope="module")
def csv_glob(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    X = _contaminated(n=1800, p=3, seed=5)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df.insert(0, "name", [f"r{i}" for i in range(len(df))])
    for k in range(3):
        df.iloc[600 * k:600 * (k + 1)].to_csv(folder / f"part{k}.csv", index=False)
    return str(folder / "part*.csv"), df


@pytest.mark.parametrize("method", ["empirical", "mcd"])
def test_outliers_dask_csv(client, csv_glob, tmp_path, method):
    pattern, df = csv_glob
    out = tmp_path / "result.csv"
    s = outliers_dask(pattern, scheduler=client.scheduler.address, id_column="name",
                      method=method, output=str(out), random_state=1)
    X = df[["a", "b", "c"]]
    ref = mh.fit(X) if method == "empirical" else mcd(X, random_state=1)
    res = pd.read_csv(out)
    assert list(res.columns) == ["name", "distance", "d2", "pvalue", "outlier"]
    assert res["name"].tolist() == df["name"].tolist()
    assert np.allclose(res["d2"], ref.distance(X, squared=True), rtol=1e-9)
    assert s["n_rows"] == s["n_used"] == 1800 and s["n_features"] == 3
    assert s["n_outliers"] == int(ref.outliers(X).sum()) == int(res["outlier"].sum())
    assert [f for f in os.listdir(tmp_path) if f.startswith(".")] == []


def test_outliers_dask_folders_and_errors(client, csv_glob, tmp_path):
    pattern, _ = csv_glob
    folder = tmp_path / "out"
    for _ in range(2):  # the second run replaces the first folder
        s = outliers_dask(pattern, columns=["a", "b"], output=str(folder))
    parts = sorted(os.listdir(folder))
    assert parts[0] == "part-00000.csv"
    res = pd.concat([pd.read_csv(folder / f) for f in parts])
    assert res["row"].tolist() == list(range(1800))
    assert int(res["outlier"].sum()) == s["n_outliers"]
    pq = tmp_path / "out.parquet"
    outliers_dask(pattern, columns=["a", "b"], output=str(pq))
    assert len(pd.read_parquet(pq)) == 1800
    with pytest.raises(ValueError, match="'name' of the input is not numeric"):
        outliers_dask(pattern)
    with pytest.raises(ValueError, match="no such file"):
        outliers_dask(str(tmp_path / "missing*.csv"))


def test_cli_outliers_dask(client, csv_glob, tmp_path, capsys):
    """`mahalanobis outliers GLOB --dask ADDRESS -o out.csv` equals the in-memory CLI."""
    from mahalanobis.cli import main
    pattern, df = csv_glob
    out = tmp_path / "cli.csv"
    code = main(["outliers", pattern, "--dask", client.scheduler.address, "--id-column", "name",
                 "-o", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "1800 rows x 3 columns" in printed.out and f"wrote {out}" in printed.out
    res = pd.read_csv(out)
    X = df[["a", "b", "c"]]
    np.testing.assert_allclose(res["d2"], mh.fit(X).distance(X, squared=True), rtol=1e-9)
    for bad, message in [([], "--dask needs -o"), (["-o", str(out), "--method", "oas"],
                                                    "not available with --dask")]:
        code = main(["outliers", pattern, "--dask", client.scheduler.address, *bad])
        assert code == 2 and message in capsys.readouterr().err


# ---------------------------------------------------------------------- one-pass estimators
def test_shrinkage_estimators_one_pass_equal_in_memory(client):
    """Ledoit-Wolf and OAS of dask input (blocks' moments and fourth-moment sums merged,
    never gathered) equal the in-memory fits; also through mh.fit and DataFrames."""
    X = _data(n=3000, p=6, offset=50.0)
    Xd = da.from_array(X, chunks=(700, 6))
    for fn, opts in [(mh.covariance.ledoit_wolf, {}),
                     (mh.covariance.ledoit_wolf, {"assume_centered": True}),
                     (mh.covariance.oas, {}), (mh.covariance.oas, {"formula": "sklearn"})]:
        ref, got = fn(X, **opts), fn(Xd, **opts)
        assert type(got) is type(ref) and got.n_samples == 3000
        assert _rel(got.cov, ref.cov) < 1e-12 and _rel(got.center + 1, ref.center + 1) < 1e-12
        assert got.shrinkage == pytest.approx(ref.shrinkage, rel=1e-10, abs=1e-14)
    m = mh.fit(Xd, method="ledoit_wolf")
    assert m.method == "ledoit_wolf" and _rel(m.cov, mh.fit(X, method="ledoit_wolf").cov) < 1e-12
    df = pd.DataFrame(X, columns=list("abcdef"))
    Xn = X.copy()
    Xn[[5, 2500], [1, 3]] = np.nan
    got = mh.fit(dd.from_pandas(pd.DataFrame(Xn, columns=list("abcdef")), npartitions=3),
                 method="oas", nan_policy="omit")
    ref = mh.fit(np.delete(X, [5, 2500], axis=0), method="oas")
    assert got.feature_names == tuple(df.columns) and got.omitted.tolist() == [5, 2500]
    assert _rel(got.cov, ref.cov) < 1e-12


def test_ridge_given_lam_and_given_folds(client):
    X = _data(n=1200, p=5)
    Xd = da.from_array(X, chunks=(300, 5))
    ref, got = mh.covariance.ridge(X, lam=0.3), mh.fit(Xd, method="ridge", lam=0.3)
    assert _rel(got.cov, ref.cov) < 1e-12 and got.lam == 0.3
    folds = np.random.default_rng(1).integers(0, 4, size=1200)
    ref = mh.covariance.ridge(X, folds=folds)
    for f in (folds, da.from_array(folds, chunks=300)):
        got = mh.covariance.ridge(Xd, folds=f)
        assert got.lam == ref.lam
        np.testing.assert_allclose(got.cv_scores, ref.cv_scores, rtol=1e-10)
        assert _rel(got.cov, ref.cov) < 1e-12
    # without folds, each block draws its rows' folds from the seed: reproducible
    a = mh.covariance.ridge(Xd, cv=3, random_state=5)
    b = mh.covariance.ridge(Xd, cv=3, random_state=5)
    np.testing.assert_array_equal(a.cv_scores, b.cv_scores)
    with pytest.raises(ValueError, match="folds must have one label per row"):
        mh.covariance.ridge(Xd, folds=folds[:10])


def test_leverage_and_hotelling_without_gathering(client):
    X = _data(n=1500, p=4, offset=3.0)
    Y = _data(n=900, p=4, seed=1, offset=3.2)
    Xd, Yd = da.from_array(X, chunks=(400, 4)), da.from_array(Y, chunks=(300, 4))
    h = mh.leverage(Xd)
    assert isinstance(h, da.Array)
    np.testing.assert_allclose(h.compute(), mh.leverage(X), rtol=1e-12)
    hs = mh.leverage(dd.from_pandas(pd.DataFrame(X, columns=list("abcd")), npartitions=3))
    assert hs.compute().name == "leverage"
    for kw in ({}, {"mu": np.full(4, 3.0)}):
        ref, got = mh.hotelling_t2(X, **kw), mh.hotelling_t2(Xd, **kw)
        assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
        assert got.pvalue == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
    for method in ("pooled", "yao", "johansen"):
        ref, got = mh.hotelling_t2(X, Y, method=method), mh.hotelling_t2(Xd, Yd, method=method)
        assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
        assert got.df == pytest.approx(ref.df, rel=1e-10)
    Z = Y[:900] + 0.01
    ref = mh.hotelling_t2(X[:900], Z, paired=True)
    got = mh.hotelling_t2(da.from_array(X[:900], chunks=300), da.from_array(Z, chunks=300),
                          paired=True)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
    with pytest.raises(ValueError, match="needs the rows in memory"):
        mh.hotelling_t2(Xd, method="random_projection")
