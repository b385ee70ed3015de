"""MahalanobisOutlierDetector and MahalanobisWhitener."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats
from sklearn.covariance import EllipticEnvelope
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mahalanobis as mh
from mahalanobis.ml import MahalanobisOutlierDetector, MahalanobisWhitener


def _data(n=400, p=4, n_out=20, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p, p))
    S = A @ A.T + np.eye(p)
    X = rng.multivariate_normal(np.zeros(p), S, size=n)
    X[:n_out] += 8 * np.sqrt(np.diag(S))  # planted outliers
    return X, S


def _inference(name="cutoff"):
    """mahalanobis.inference, or a skip while it (or the function) is not in this tree yet."""
    inference = pytest.importorskip("mahalanobis.inference")
    if not hasattr(inference, name):
        pytest.skip(f"mahalanobis.inference.{name} is not in this tree yet")
    return inference


def _needs(method):
    if method not in mh.available_methods():
        pytest.skip(f"mahalanobis.fit(method={method!r}) is not in this tree yet")


def test_scores_decision_predict_are_consistent():
    X, _ = _data()
    det = MahalanobisOutlierDetector(method="empirical", cutoff=20.0).fit(X)
    d2 = mh.fit(X).distance(X, squared=True)
    np.testing.assert_allclose(det.score_samples(X), -d2, rtol=1e-12)
    np.testing.assert_allclose(det.distance(X), np.sqrt(d2), rtol=1e-12)
    np.testing.assert_allclose(det.decision_function(X), 20.0 - d2, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(det.predict(X), np.where(d2 <= 20.0, 1, -1))
    np.testing.assert_array_equal(det.fit_predict(X), det.predict(X))
    assert det.threshold_ == 20.0 and det.offset_ == -20.0


def test_contamination_matches_elliptic_envelope_rule():
    X, _ = _data()
    det = MahalanobisOutlierDetector(method="empirical", contamination=0.05).fit(X)
    assert np.sum(det.predict(X) == -1) == 20
    # Same rule as EllipticEnvelope: offset_ is the contamination quantile of score_samples.
    ee = EllipticEnvelope(contamination=0.05, random_state=0).fit(X)
    assert np.sum(ee.predict(X) == -1) == 20
    assert np.isclose(det.offset_, np.percentile(det.score_samples(X), 5.0))


def test_pvalue_is_chi2_tail():
    from scipy import stats
    X, _ = _data()
    det = MahalanobisOutlierDetector(method="empirical", contamination=0.1).fit(X)
    np.testing.assert_allclose(det.pvalue(X[:5]),
                               stats.chi2.sf(det.distance(X[:5], squared=True), 4))


@pytest.mark.parametrize("cutoff", ["chi2", "beta", "f"])
def test_calibrated_cutoffs_from_inference(cutoff):
    inference = _inference()
    X, _ = _data(n_out=0)
    det = MahalanobisOutlierDetector(method="empirical", cutoff=cutoff, alpha=0.025).fit(X)
    assert det.threshold_ == pytest.approx(
        inference.cutoff(4, 0.025, method=cutoff, n=400, h=None))
    # Clean Gaussian data: the flagged share is near alpha (binomial 400, 0.025: sd 0.008).
    assert np.mean(det.predict(X) == -1) < 0.025 + 4 * 0.008


def test_bootstrap_cutoff():
    _inference("bootstrap_cutoff")
    X, _ = _data(n_out=0)
    a = MahalanobisOutlierDetector(method="empirical", cutoff="bootstrap", n_boot=200,
                                   random_state=3).fit(X)
    b = MahalanobisOutlierDetector(method="empirical", cutoff="bootstrap", n_boot=200,
                                   random_state=3).fit(X)
    assert a.threshold_ == b.threshold_ > 0


@pytest.mark.parametrize("cutoff", ["chi2", "hardin_rocke", "cerioli"])
def test_mcd_detector_finds_planted_outliers(cutoff):
    _needs("mcd")
    _inference()
    X, _ = _data()
    det = MahalanobisOutlierDetector(cutoff=cutoff, random_state=0).fit(X)
    pred = det.predict(X)
    assert np.all(pred[:20] == -1)
    assert np.mean(pred[20:] == -1) < 0.06


@pytest.mark.parametrize("kwargs, match", [
    ({"cutoff": "normal"}, "cutoff must be one of"),
    ({"cutoff": -1.0}, "cutoff as a number"),
    ({"alpha": 1.5}, "alpha must lie"),
    ({"contamination": 0.7}, "contamination must lie"),
    ({"method": "nope"}, "method must be one of"),
])
def test_bad_parameters_name_themselves(kwargs, match):
    X, _ = _data()
    params = {"method": "empirical", **kwargs}
    with pytest.raises(ValueError, match=match):
        MahalanobisOutlierDetector(**params).fit(X)


def test_callable_estimator():
    X, _ = _data()
    det = MahalanobisOutlierDetector(method=lambda A: mh.fit(A, location="median"),
                                     contamination=0.05).fit(X)
    np.testing.assert_allclose(det.location_, np.median(X, axis=0))


# ----------------------------------------------------------------------------- whitener
@pytest.mark.parametrize("method", ["cholesky", "zca", "pca"])
def test_whitener_distances_and_inverse(method):
    X, _ = _data(n_out=0)
    w = MahalanobisWhitener(kind=method).fit(X)
    Z = w.transform(X)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(4), atol=1e-10)
    np.testing.assert_allclose(np.sum(Z**2, axis=1), mh.fit(X).distance(X, squared=True),
                               rtol=1e-10)
    np.testing.assert_allclose(w.inverse_transform(Z), X, rtol=1e-10, atol=1e-10)
    if method == "cholesky":
        np.testing.assert_allclose(Z, mh.fit(X).whiten(X), rtol=1e-9, atol=1e-12)


def test_whitener_feature_names():
    pd = pytest.importorskip("pandas")
    X, _ = _data(n_out=0)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    assert list(MahalanobisWhitener().fit(df).get_feature_names_out()) == ["a", "b", "c", "d"]
    pca = MahalanobisWhitener(kind="pca").fit(df).get_feature_names_out()
    assert list(pca) == [f"whitened_pc{k}" for k in range(4)]


def test_whitener_knn_gives_the_same_neighbours_as_sklearn_mahalanobis_on_digits():
    X, y = load_digits(return_X_y=True)
    X = X[:, X.std(axis=0) > 0]  # 3 constant pixels make the covariance singular: dropped
    Xtr, ytr, Xte = X[:900], y[:900], X[900:1100]
    cov = mh.fit(Xtr).cov
    ref = KNeighborsClassifier(5, metric="mahalanobis",
                               metric_params={"VI": np.linalg.inv(cov)}).fit(Xtr, ytr)
    pipe = make_pipeline(MahalanobisWhitener(), KNeighborsClassifier(5)).fit(Xtr, ytr)
    d_ref, i_ref = ref.kneighbors(Xte)
    d_w, i_w = pipe[-1].kneighbors(pipe[0].transform(Xte))
    np.testing.assert_allclose(d_w, d_ref, rtol=1e-8)
    # Same neighbours; two may only trade places when their distances tie (to 1e-9).
    differ = i_w != i_ref
    assert differ.sum() <= 4
    for r, c in zip(*np.nonzero(differ)):
        assert i_w[r, c] in i_ref[r]
        assert abs(d_ref[r, c] - d_ref[r, list(i_ref[r]).index(i_w[r, c])]) <= 1e-9 * d_ref[r, c]
    np.testing.assert_array_equal(pipe.predict(Xte), ref.predict(Xte))


def test_whitener_in_front_of_nearest_neighbors_matches_pairwise():
    X, _ = _data(n=60, n_out=0)
    pipe = make_pipeline(StandardScaler(), MahalanobisWhitener()).fit(X)
    nn = NearestNeighbors(n_neighbors=3).fit(pipe.transform(X))
    d, _ = nn.kneighbors(pipe.transform(X[:5]))
    D = mh.pairwise(X[:5], X, cov=np.cov(X.T))
    np.testing.assert_allclose(d, np.sort(D, axis=1)[:, :3], rtol=1e-8, atol=1e-7)


def test_cutoff_plumbing_with_a_stand_in_inference_module(monkeypatch):
    """What the detector passes to mahalanobis.inference (checked without the real module)."""
    import sys
    import types
    calls = {}
    fake = types.ModuleType("mahalanobis.inference")

    def cutoff(p, alpha=0.025, *, method="chi2", n=None, h=None, multiplicity=None):
        calls["cutoff"] = (p, alpha, method, n, h)
        return 11.5

    def bootstrap_cutoff(d2, alpha=0.025, *, n_boot=1000, level=0.95, random_state=None):
        calls["bootstrap"] = (d2.shape, alpha, n_boot, random_state)
        return types.SimpleNamespace(cutoff=9.25)

    fake.cutoff, fake.bootstrap_cutoff = cutoff, bootstrap_cutoff
    monkeypatch.setitem(sys.modules, "mahalanobis.inference", fake)
    monkeypatch.setattr(mh, "inference", fake, raising=False)
    X, _ = _data(n_out=0)
    det = MahalanobisOutlierDetector(method="empirical", cutoff="hardin_rocke",
                                     alpha=0.01).fit(X)
    assert calls["cutoff"] == (4, 0.01, "hardin_rocke", 400, None)
    assert det.threshold_ == 11.5
    det = MahalanobisOutlierDetector(method="empirical", cutoff="bootstrap", n_boot=50,
                                     random_state=7).fit(X)
    assert calls["bootstrap"] == ((400,), 0.025, 50, 7)
    assert det.threshold_ == 9.25


# ----------------------------------------------------------------------------- issue 11
def test_default_detector_clean_data_rate_within_binomial_bounds(tmp_path, monkeypatch):
    """The chi2 default flagged 5.6 % of clean rows at n = 100, p = 3 (alpha = 0.025)."""
    _needs("mcd")
    rng = np.random.default_rng(42)
    n, p, reps = 100, 3, 30
    k = 0
    for r in range(reps):
        X = rng.standard_normal((n, p))
        det = MahalanobisOutlierDetector(random_state=r,
                                         method_options={"n_starts": 50}).fit(X)
        k += int(np.sum(det.predict(X) == -1))
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps * n, 0.025)
    assert lo <= k <= hi


@pytest.mark.parametrize("kwargs", [
    {}, {"novelty": True}, {"level": "simultaneous"}, {"method": "empirical"},
    {"cutoff": "chi2"}, {"cutoff": "beta", "method": "empirical"}, {"cutoff": "f"},
    {"cutoff": "hardin_rocke"}, {"cutoff": "cerioli"}, {"cutoff": "bootstrap", "n_boot": 50},
    {"cutoff": 9.0}, {"contamination": 0.1}, {"method": lambda X: mh.fit(X)},
])
def test_pvalue_decision_and_predict_always_agree(kwargs):
    """pvalue() used chi2 whatever the cutoff, so it disagreed with predict()."""
    _needs("mcd")
    X, _ = _data(n=120, p=3, n_out=6)
    det = MahalanobisOutlierDetector(random_state=0, **kwargs).fit(X)
    Y = np.vstack([X, np.random.default_rng(1).standard_normal((50, 3)) * 2])
    pred = det.predict(Y)
    np.testing.assert_array_equal(det.pvalue(Y) < det.alpha_, pred == -1)
    np.testing.assert_array_equal(det.decision_function(Y) < 0, pred == -1)
    assert isinstance(det.reference_, str)


def test_auto_detector_matches_mh_outliers(tmp_path, monkeypatch):
    _needs("mcd")
    import mahalanobis._calibration as calibration
    monkeypatch.setenv("MAHALANOBIS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(calibration, "_new_point_reps", lambda n: 100)
    X, _ = _data(n=120, p=3, n_out=6)
    det = MahalanobisOutlierDetector(random_state=0).fit(X)
    res = mh.outliers(X, random_state=0)
    np.testing.assert_allclose(det.location_, res.metric.center)
    m = int(np.sum(res.weights))
    assert det.threshold_ == pytest.approx(res.cutoff[res.weights][0])
    assert f"m={m}" in det.reference_ and det.alpha_ == pytest.approx(0.025)
    # novelty=True: the RMCD's simulated law of a new point (issue 11, item 3), the same
    # law as mh.outliers(X).metric.outliers(X_new); the F law with m flagged too many
    nov = MahalanobisOutlierDetector(random_state=0, novelty=True).fit(X)
    law = res.metric.new_point_law()
    assert law.kind == "simulated" and "Monte Carlo" in nov.reference_
    assert nov.threshold_ == pytest.approx(law.cutoff(0.025))
    Y = np.random.default_rng(5).standard_normal((40, 3)) * 1.5
    np.testing.assert_array_equal(nov.predict(Y) == -1, nov.pvalue(Y) < nov.alpha_)
    np.testing.assert_array_equal(nov.predict(Y) == -1, res.metric.outliers(Y))
