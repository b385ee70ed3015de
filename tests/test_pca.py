"""Classical and robust PCA (mahalanobis.pca) against rrcov 1.7-2's PcaClassic and PcaHubert
(tests/reference/pca.R): equal to rounding given the same MCD fits, for both ROBPCA
branches and p > n."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import as_float as _a
from conftest import load_reference, reference_names
from mahalanobis.pca import CATEGORIES, PCA, ROBPCA
from mahalanobis.pca.robpca import direction_pairs, unimcd

NAMES = reference_names("pca")


def _load(name: str) -> dict:
    return load_reference(f"pca_{name}")


def _close(actual, desired, rtol=1e-8, signs=False):
    A, B = np.asarray(actual, float), _a(desired)
    if signs:   # eigenvector signs are arbitrary in LAPACK: align each column
        A2 = A.reshape(A.shape[0], -1)
        s = np.sign(np.sum(A2 * B.reshape(A2.shape), axis=0))
        A = (A2 * s).reshape(A.shape)
    np.testing.assert_allclose(A, B, rtol=rtol, atol=rtol * max(np.max(np.abs(B)), 1e-300))


def _fit(fit: dict, X: np.ndarray):
    k = fit["k_requested"] or None
    if fit["estimator"] == "PcaClassic":
        return PCA(n_components=k).fit(X)
    st = fit["settings"]
    sf = None if isinstance(st["alpha_argument"], str) else st["alpha_argument"]
    src = fit["mcd"] if fit["branch"] == "MCD" else fit["projection"]["X2mcd"]

    def rrcov_mcd(Xs, support_fraction, n_starts):   # rrcov's MCD, the only random part
        assert support_fraction == pytest.approx(fit["alpha"], rel=1e-12)
        assert n_starts == (500 if fit["branch"] == "MCD" else 250)
        return _a(src["center"]), _a(src["cov"])

    return ROBPCA(n_components=k, support_fraction=sf, mcd=st["mcd"]).fit(X,
                                                                           _mcd_fit=rrcov_mcd)


@pytest.mark.parametrize("name", NAMES)
def test_equal_to_rrcov(name):
    d = _load(name)
    X = _a(d["X"])
    for fit in d["fits"]:
        m = _fit(fit, X)
        r = m.result_
        assert m.n_components_ == fit["k"] and m.rank_ == fit["rank"]
        if fit["estimator"] == "PcaHubert":
            assert m.branch_ == fit["branch"].lower() and m.h_ == fit["quan"]
            _close(m.all_eigenvalues_, fit["eig0"], 1e-8)
        _close(m.center_, fit["center"])
        _close(m.eigenvalues_, fit["eigenvalues"])
        _close(m.loadings_, fit["loadings"], signs=True)
        _close(r.scores, fit["scores"], signs=True)
        _close(r.score_distance, fit["sd"])
        if max(fit["od"]) > 1e-10:
            _close(r.orthogonal_distance, fit["od"])
        assert r.sd_cutoff == pytest.approx(fit["cutoff.sd"], rel=1e-12)
        if fit["cutoff.od"] == 0:
            assert r.od_cutoff is None
        else:
            assert r.od_cutoff == pytest.approx(fit["cutoff.od"], rel=1e-8)
        np.testing.assert_array_equal(~r.flags, np.asarray(fit["flag"], bool))
        if fit["estimator"] == "PcaHubert" and fit["branch"] == "projection":
            _close(m.outlyingness_, fit["projection"]["outlyingness"], 1e-8)
            pairs = np.asarray(fit["projection"]["direction_pairs"]) - 1
            np.testing.assert_array_equal(direction_pairs(d["n"]), pairs)


def test_unimcd_equals_rrcov_on_projections():
    # the extra reweighting's cutoff uses the univariate MCD of od^(2/3)
    d = _load("wood_x")
    f = d["fits"][2]["projection"]["extra_reweighting"]
    odh = _a(f["odh"])
    t, s = unimcd((odh ** (2 / 3))[:, None], d["fits"][2]["quan"])
    from scipy import stats
    assert (t[0] + s[0] * stats.norm.ppf(0.975)) ** 1.5 == pytest.approx(f["cutoffodh"],
                                                                          rel=1e-12)


def test_outlier_map_categories_and_new_points():
    rng = np.random.default_rng(0)
    n, p = 200, 6
    X = rng.standard_normal((n, p)) @ np.diag([5.0, 3.0, 0.5, 0.5, 0.5, 0.5])
    X[:5, 0] += 30                       # good leverage: far inside the subspace
    X[5:10, 4] += 15                     # orthogonal outliers
    X[10:15, 0] += 30
    X[10:15, 4] += 15                    # bad leverage
    for est in (ROBPCA(n_components=2, random_state=0), PCA(n_components=2)):
        r = est.fit(X).classify()
        if isinstance(est, ROBPCA):
            assert all(c == "good leverage" for c in r.category[:5])
            assert all(c == "orthogonal outlier" for c in r.category[5:10])
            assert all(c == "bad leverage" for c in r.category[10:15])
            assert r.counts()["regular"] >= 175
        assert set(r.category) <= set(CATEGORIES)
        frame = r.to_frame()
        assert list(frame.columns[:4]) == ["score_distance", "orthogonal_distance",
                                           "category", "flag"] and "PC2" in frame
        assert "regular" in repr(r)
    # new points are scored against the fitted cutoffs
    est = ROBPCA(n_components=2, random_state=0).fit(X)
    new = np.vstack([np.zeros(p), np.r_[0, 0, 0, 0, 20, 0]])
    r2 = est.classify(new)
    assert list(r2.category) == ["regular", "orthogonal outlier"]
    np.testing.assert_allclose(est.score_distance(new), r2.score_distance)
    np.testing.assert_allclose(est.transform(new), r2.scores)
    np.testing.assert_allclose(est.orthogonal_distance(X[:20]),
                               est.result_.orthogonal_distance[:20])


def test_p_above_n_and_the_k_rule():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 60)) @ np.diag(np.r_[[10.0, 6.0], np.full(58, 0.2)])
    X[:3] += 8
    for est in (PCA(), ROBPCA(random_state=1)):
        est.fit(X)
        assert est.rank_ == 29 and 1 <= est.n_components_ <= 10
        assert est.loadings_.shape == (60, est.n_components_)
        np.testing.assert_allclose(est.loadings_.T @ est.loadings_,
                                   np.eye(est.n_components_), atol=1e-10)
    assert ROBPCA(random_state=1).fit(X).branch_ == "projection"


def test_errors_and_frames():
    import pandas as pd
    X = pd.DataFrame(np.random.default_rng(2).standard_normal((40, 3)), columns=list("abc"))
    est = PCA(n_components=2).fit(X)
    assert est.result_.to_frame().index.equals(X.index)
    with pytest.raises(ValueError, match="not fitted"):
        PCA().transform(X)
    with pytest.raises(ValueError, match="n_components"):
        PCA(n_components=5).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        ROBPCA(n_components=0).fit(X)
    with pytest.raises(ValueError, match="lacks column"):
        est.transform(X[["a", "b"]].rename(columns={"b": "z"}).assign(c=0.0))
    with pytest.raises(ValueError, match="support_fraction"):
        ROBPCA(support_fraction=0.3).fit(X)


def test_outlier_map_plot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mahalanobis import plot
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 4)) @ np.diag([3.0, 2.0, 0.3, 0.3])
    X[:3, 3] += 8
    est = ROBPCA(n_components=2, random_state=0).fit(X)
    ax = plot.outlier_map(est, labels=[f"r{i}" for i in range(60)])
    gids = [ln.get_gid() for ln in ax.lines]
    assert gids == ["cutoff-sd", "cutoff-od"]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(est.sd_cutoff_)
    assert ax.lines[1].get_ydata()[0] == pytest.approx(est.od_cutoff_)
    assert {"r0", "r1", "r2"} <= {t.get_text() for t in ax.texts}
    # k = rank: no orthogonal distances, no OD line
    full = PCA(n_components=4).fit(X)
    ax2 = plot.outlier_map(full.classify())
    assert [ln.get_gid() for ln in ax2.lines] == ["cutoff-sd"]
    with pytest.raises(ValueError, match="fitted"):
        plot.outlier_map(object())
    plt.close("all")
