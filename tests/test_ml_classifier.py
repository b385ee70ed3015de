"""MahalanobisClassifier, component_distances and MahalanobisOOD."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import StratifiedKFold, cross_val_score

import mahalanobis as mh
from mahalanobis.ml import (
    MahalanobisClassifier,
    MahalanobisOOD,
    component_distances,
    ood_metrics,
)


def test_per_class_is_qda_exactly():
    X, y = load_iris(return_X_y=True)
    # scikit-learn's QDA uses the maximum-likelihood covariances (divisor n_k).
    ours = MahalanobisClassifier(covariance="per_class", method_options={"ddof": 0}).fit(X, y)
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(X, y)
    np.testing.assert_allclose(ours.covariances_, qda.covariance_, rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), qda.predict_proba(X), atol=1e-9)
    np.testing.assert_array_equal(ours.predict(X), qda.predict(X))


def test_pooled_transform_is_squared_distance_to_class_means():
    X, y = load_iris(return_X_y=True)
    clf = MahalanobisClassifier().fit(X, y)
    D = clf.transform(X[:7])
    for k in range(3):
        m = mh.Metric(X[y == k].mean(axis=0), clf.covariance_)
        np.testing.assert_allclose(D[:, k], m.distance(X[:7], squared=True), rtol=1e-9)
    # pooled covariance with divisor n - K
    R = X - clf.means_[y]
    np.testing.assert_allclose(clf.covariance_, R.T @ R / (150 - 3), rtol=1e-12)
    # Equal priors + pooled: nearest class mean.
    eq = MahalanobisClassifier(priors=[1 / 3] * 3).fit(X, y)
    np.testing.assert_array_equal(eq.predict(X), np.argmin(eq.transform(X), axis=1))


def test_probabilities_are_stable_far_away():
    X, y = load_iris(return_X_y=True)
    clf = MahalanobisClassifier(covariance="per_class").fit(X, y)
    far = X[:3] + 1e4
    P = clf.predict_proba(far)
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X[:5])), clf.predict_proba(X[:5]))


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_accuracy_next_to_lda(loader):
    X, y = loader(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    ours = cross_val_score(MahalanobisClassifier(), X, y, cv=cv).mean()
    lda = cross_val_score(LinearDiscriminantAnalysis(), X, y, cv=cv).mean()
    assert ours >= lda - 0.03


def test_priors_validation():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="priors must be 3"):
        MahalanobisClassifier(priors=[0.5, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match="covariance must be one of"):
        MahalanobisClassifier(covariance="diag").fit(X, y)


def test_per_class_with_too_few_samples_says_what_to_do():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = np.r_[np.zeros(36), np.ones(4)]
    with pytest.raises(ValueError, match="covariance='pooled' or a regularised"):
        MahalanobisClassifier(covariance="per_class").fit(X, y)


def test_robust_or_shrinkage_estimators_when_available():
    have = set(mh.available_methods())
    X, y = load_wine(return_X_y=True)
    # Shrinkage towards a scaled identity is not scale-equivariant: on raw wine (proline in
    # the thousands next to unit-scale features) ledoit_wolf scores 0.81; standardise first.
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    for est in ("ledoit_wolf", "mcd"):
        if est not in have:
            continue
        clf = MahalanobisClassifier(method=est, random_state=0).fit(X, y)
        assert np.mean(clf.predict(X) == y) > 0.9
    if not have & {"ledoit_wolf", "mcd"}:
        pytest.skip("neither 'ledoit_wolf' nor 'mcd' is in mahalanobis.fit yet")


@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
def test_component_distances_every_covariance_type(ctype):
    X, _ = load_iris(return_X_y=True)
    gmm = GaussianMixture(3, covariance_type=ctype, random_state=0).fit(X)
    D = component_distances(gmm, X[:10])
    covs = {"full": lambda k: gmm.covariances_[k],
            "tied": lambda k: gmm.covariances_,
            "diag": lambda k: np.diag(gmm.covariances_[k]),
            "spherical": lambda k: gmm.covariances_[k] * np.eye(4)}[ctype]
    for k in range(3):
        ref = mh.distance(X[:10], gmm.means_[k], cov=covs(k), squared=True)
        np.testing.assert_allclose(D[:, k], ref, rtol=1e-8)


# ----------------------------------------------------------------------------- OOD
def test_ood_metrics_against_sklearn():
    rng = np.random.default_rng(0)
    s_in = rng.normal(1.0, 1.0, 300)
    s_out = rng.normal(0.0, 1.0, 200)
    r = ood_metrics(s_in, s_out)
    y = np.r_[np.ones(300), np.zeros(200)]
    assert r.auroc == pytest.approx(roc_auc_score(y, np.r_[s_in, s_out]), rel=1e-12)
    fpr, tpr, _ = roc_curve(y, np.r_[s_in, s_out], drop_intermediate=False)
    assert r.fpr_at_95_tpr == pytest.approx(fpr[np.argmax(tpr >= 0.95)])
    assert "auroc=" in repr(r)
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass
        r.auroc = 0.0


def test_ood_score_definitions():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3)) + np.repeat([[0, 0, 3], [0, 3, 0]], 100, axis=0)
    y = np.repeat([0, 1], 100)
    lee = MahalanobisOOD(normalize=False, reg=0.0).fit(X, y)
    R = X - lee.means_[y]
    S = R.T @ R / 200
    ref = np.min(np.column_stack([mh.distance(X, lee.means_[k], cov=S, squared=True)
                                  for k in range(2)]), axis=1)
    np.testing.assert_allclose(lee.score_samples(X), -ref, rtol=1e-9)
    pp = MahalanobisOOD(reg=0.0).fit(X, y)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    np.testing.assert_allclose(pp.means_[0], Xn[:100].mean(axis=0), rtol=1e-12)
    rel = MahalanobisOOD(normalize=False, relative=True, reg=0.0).fit(X, y)
    bg = mh.distance(X, X.mean(axis=0), cov=np.cov(X.T, ddof=0), squared=True)
    np.testing.assert_allclose(rel.class_distances(X),
                               lee.class_distances(X) - bg[:, None], rtol=1e-8, atol=1e-8)


def test_ood_held_out_digit_classes():
    """Digits 0-7 are in-distribution, 8 and 9 out; features: PCA(30) of the pixels."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    X, y = X[idx], y[idx]
    ind = y < 8
    Xin, yin, Xout = X[ind], y[ind], X[~ind]
    ntr = 1000
    pca = PCA(30, random_state=0).fit(Xin[:ntr])
    F = pca.transform
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = {}
        for name, det in [("pp", MahalanobisOOD()), ("lee", MahalanobisOOD(normalize=False))]:
            det.fit(F(Xin[:ntr]), yin[:ntr])
            res[name] = ood_metrics(det.score_samples(F(Xin[ntr:])),
                                    det.score_samples(F(Xout)))
    assert res["pp"].auroc > 0.8 and res["lee"].auroc > 0.8
