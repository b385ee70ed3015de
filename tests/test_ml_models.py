"""MahalanobisKMeans, the Mahalanobis kernel and MTS feature selection."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.datasets import load_wine
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import mahalanobis as mh
from mahalanobis.ml import (
    MahalanobisKernel,
    MahalanobisKMeans,
    MTSSelector,
    hadamard,
    mahalanobis_kernel,
    orthogonal_array,
)


def rotated_clusters(seed, n=150):
    """Three elongated clusters with different orientations."""
    rng = np.random.default_rng(seed)
    out, ys = [], []
    for k, (th, c) in enumerate([(0.0, [0, 0]), (1.2, [6, 6]), (2.2, [12, 0])]):
        R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        out.append((rng.standard_normal((n, 2)) * [4.0, 0.5]) @ R.T + c)
        ys.append(np.full(n, k))
    return np.vstack(out), np.concatenate(ys)


def parallel_clusters(seed, n=150):
    """Three parallel elongated clusters, closer across than along."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((3 * n, 2)) * [6.0, 0.5]
    X = base + np.repeat([[0, 0], [0, 3], [0, 6]], n, axis=0)
    return X, np.repeat([0, 1, 2], n)


@pytest.mark.parametrize("make, covariance", [(rotated_clusters, "per_cluster"),
                                              (parallel_clusters, "per_cluster"),
                                              (parallel_clusters, "shared")])
def test_kmeans_beats_euclidean_kmeans_on_elongated_clusters(make, covariance):
    X, y = make(0)
    km = MahalanobisKMeans(3, covariance=covariance, random_state=0).fit(X)
    ours = adjusted_rand_score(y, km.labels_)
    ref = adjusted_rand_score(y, KMeans(3, n_init=10, random_state=0).fit_predict(X))
    assert ours > 0.85 and ours > ref + 0.15


def test_kmeans_attributes_and_predict():
    X, _ = rotated_clusters(1)
    km = MahalanobisKMeans(3, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (3, 2) and km.covariances_.shape == (3, 2, 2)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    D = km.transform(X)
    assert km.inertia_ == pytest.approx(D[np.arange(len(X)), km.labels_].sum(), rel=1e-8)
    for k in range(3):
        assert np.all(np.linalg.eigvalsh(km.covariances_[k]) > 0)
    again = MahalanobisKMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, km.labels_)


def test_kmeans_clusters_do_not_collapse():
    # Many clusters for little data, one exact duplicate cluster: regularisation keeps every
    # scatter positive definite and the run finishes without a singular-matrix error.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((40, 3)), np.zeros((5, 3)) + 10])
    km = MahalanobisKMeans(6, random_state=0, n_init=3).fit(X)
    assert np.all(np.isfinite(km.covariances_))
    assert len(np.unique(km.labels_)) >= 2


def test_kmeans_parameter_errors():
    X = np.random.default_rng(0).standard_normal((5, 2))
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_clusters=8"):
        MahalanobisKMeans().fit(X)
    with pytest.raises(ValueError, match="covariance must be one of"):
        MahalanobisKMeans(2, covariance="diag").fit(X)


# ----------------------------------------------------------------------------- kernel
def test_kernel_matches_definition():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((20, 4))
    S = np.cov(rng.standard_normal((50, 4)).T) + np.eye(4)
    ref = np.exp(-0.3 * cdist(X, Y, "mahalanobis", VI=np.linalg.inv(S)) ** 2)
    np.testing.assert_allclose(mahalanobis_kernel(X, Y, cov=S, gamma=0.3), ref, rtol=1e-10)
    np.testing.assert_allclose(MahalanobisKernel(cov=S, gamma=0.3)(X, Y), ref, rtol=1e-10)
    K = MahalanobisKernel(gamma=0.3).fit(X)(X)
    np.testing.assert_allclose(np.diag(K), 1.0)
    np.testing.assert_allclose(K, K.T)
    np.testing.assert_allclose(K, mahalanobis_kernel(X, cov=mh.fit(X).cov, gamma=0.3),
                               rtol=1e-10)


def test_kernel_svm_on_wine():
    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    p = X.shape[1]
    # The kernel's covariance is learnt on all of X here: unsupervised, like a scaler.
    svm = SVC(kernel=MahalanobisKernel(gamma=1.0 / p).fit(X))
    ours = cross_val_score(svm, X, y, cv=cv).mean()
    rbf = cross_val_score(make_pipeline(StandardScaler(), SVC()), X, y, cv=cv).mean()
    assert ours > 0.9 and ours > rbf - 0.05


def test_kernel_without_covariance_is_not_fitted():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError, match="pass cov= or call fit"):
        MahalanobisKernel()(np.ones((2, 2)))
    with pytest.raises(ValueError, match="gamma must lie"):
        mahalanobis_kernel(np.ones((2, 2)), cov=np.eye(2), gamma=-1)
    k = MahalanobisKernel(cov=np.eye(3))
    for args, name in [((np.ones((2, 2)),), "X"), ((np.ones((2, 3)), np.ones((4, 2))), "Y")]:
        with pytest.raises(ValueError, match=rf"^{name} has 2 features but the kernel's "
                                             r"covariance is 3 x 3\.$"):
            k(*args)


# ----------------------------------------------------------------------------- MTS
@pytest.mark.parametrize("n", [4, 8, 12, 16, 20, 24, 40, 44])
def test_hadamard(n):
    H = hadamard(n)
    np.testing.assert_array_equal(H @ H.T, n * np.eye(n))
    assert np.all(H[0] == 1) and np.all(H[:, 0] == 1)


@pytest.mark.parametrize("factors, runs", [(3, 4), (7, 8), (8, 12), (11, 12), (15, 16),
                                           (19, 20), (23, 24), (30, 32)])
def test_orthogonal_array_is_balanced(factors, runs):
    oa = orthogonal_array(factors)
    assert oa.shape == (runs, factors) and np.all(oa[0] == 1)
    for a in range(factors):
        for b in range(a + 1, factors):
            _, counts = np.unique(oa[:, [a, b]], axis=0, return_counts=True)
            assert counts.tolist() == [runs // 4] * 4


def test_hadamard_unavailable_order():
    with pytest.raises(ValueError, match="orthogonal_array"):
        hadamard(28)


def test_mts_selects_the_informative_variables():
    rng = np.random.default_rng(0)
    p = 8
    A = rng.standard_normal((p, p)) * 0.3
    S = A @ A.T + np.eye(p)
    normal = rng.multivariate_normal(np.zeros(p), S, size=300)
    abnormal = rng.multivariate_normal(np.zeros(p), S, size=60)
    abnormal[:, :3] += 3.0 * np.sqrt(np.diag(S))[:3]  # only variables 0, 1, 2 carry signal
    X = np.vstack([normal, abnormal])
    y = np.r_[np.zeros(300), np.ones(60)].astype(int)
    sel = MTSSelector().fit(X, y)
    # Informative variables gain > 2 dB; noise variables correlated with them may gain a
    # little (here one gains 0.2 dB), the others lose.
    assert sel.gains_[:3].min() > 2.0 and sel.gains_[3:].max() < 0.5
    assert np.sum(sel.gains_[3:] < 0) >= 4
    sel.set_params(threshold=1.0).fit(X, y)
    np.testing.assert_array_equal(sel.get_support(), np.arange(p) < 3)
    assert sel.orthogonal_array_.shape == (12, p)
    assert sel.transform(X).shape == (360, 3)
    # Scaled MD of the normal group averages about 1 over all variables (first run).
    Z = (normal - sel.mean_) / sel.scale_
    md = mh.distance(Z, np.zeros(p), cov=sel.correlation_, squared=True) / p
    assert md.mean() == pytest.approx(1.0, abs=0.01)


def test_mts_needs_a_normal_group():
    X = np.random.default_rng(0).standard_normal((20, 5))
    with pytest.raises(ValueError, match="normal group"):
        MTSSelector().fit(X, np.r_[np.zeros(4), np.ones(16)])


def test_fitted_kernel_survives_clone():
    from sklearn.base import clone
    X, _ = load_wine(return_X_y=True)
    k = MahalanobisKernel(gamma=0.1).fit(X)
    svm = clone(SVC(kernel=k))
    np.testing.assert_allclose(svm.kernel(X[:5], X[:7]), k(X[:5], X[:7]))
    assert not hasattr(clone(MahalanobisKernel(gamma=0.1)), "metric_")
