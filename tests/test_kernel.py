import numpy as np
import pytest

import mahalanobis as mh
from mahalanobis.variants.kernel import KernelMetric


def _reg_d2(Y, X, reg):
    S = np.cov(X.T) + reg * np.eye(X.shape[1])
    V = Y - X.mean(axis=0)
    return np.einsum("ij,ji->i", V, np.linalg.solve(S, V.T))


def _moons(n, rng, noise=0.05):
    t = rng.uniform(0.0, np.pi, n)
    lab = rng.integers(0, 2, n)
    x = np.where(lab == 0, np.cos(t), 1.0 - np.cos(t))
    y = np.where(lab == 0, np.sin(t), 0.5 - np.sin(t))
    return np.c_[x, y] + noise * rng.standard_normal((n, 2))


def _gap_points(n, rng, min_dist=0.3):
    """Points in the bounding box of the moons at least min_dist from the noise-free curves."""
    ref = _moons(20_000, np.random.default_rng(99), noise=0.0)
    out = []
    while len(out) < n:
        c = rng.uniform([-1.5, -1.0], [2.5, 1.5], (500, 2))
        d = np.min(((c[:, None, :] - ref[None, ::20, :]) ** 2).sum(-1), axis=1)
        out.extend(c[d > min_dist**2])
    return np.array(out[:n])


def _auroc(inl, outl):
    s = np.r_[inl, outl]
    ranks = np.argsort(np.argsort(s)) + 1.0
    n1, n2 = len(inl), len(outl)
    return (ranks[n1:].sum() - n2 * (n2 + 1) / 2) / (n1 * n2)


@pytest.mark.parametrize("reg", [1e-3, 0.5])
def test_linear_kernel_is_regularised_mahalanobis(reg):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4)) @ rng.standard_normal((4, 4)) + 3.0
    Y = np.r_[rng.standard_normal((30, 4)) * 2 + 3.0, X[:10]]
    km = KernelMetric("linear", reg=reg).fit(X)
    ridge = reg * np.trace(np.cov(X.T))  # reg is relative to the total variance
    assert km.reg_ == pytest.approx(ridge, rel=1e-12)
    ref = _reg_d2(Y, X, ridge)
    np.testing.assert_allclose(km.distance(Y, squared=True), ref, rtol=1e-10)
    np.testing.assert_allclose(km.distance(Y), np.sqrt(ref), rtol=1e-10)
    metric = mh.Metric(X.mean(axis=0), np.cov(X.T) + ridge * np.eye(4))
    np.testing.assert_allclose(km.distance(Y), metric.distance(Y), rtol=1e-10)
    np.testing.assert_allclose(np.sort(km.eigenvalues_),
                               np.linalg.eigvalsh(np.cov(X.T)), rtol=1e-10)


def test_callable_kernel_matches_builtin():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 3))
    Y = rng.standard_normal((9, 3))

    def rbf(A, B, gamma):
        d = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
        return np.exp(-gamma * d)

    a = KernelMetric("rbf", gamma=0.4).fit(X).distance(Y)
    b = KernelMetric(rbf, kernel_params={"gamma": 0.4}).fit(X).distance(Y)
    np.testing.assert_allclose(a, b, rtol=1e-9)
    c = KernelMetric("laplacian", gamma=0.3).fit(X).distance(Y)  # via scikit-learn
    assert np.all(np.isfinite(c)) and np.all(c > 0)
    p = KernelMetric("poly", degree=2, gamma=0.5, coef0=1.0).fit(X).distance(Y)
    q = KernelMetric(lambda A, B: (0.5 * A @ B.T + 1.0) ** 2).fit(X).distance(Y)
    np.testing.assert_allclose(p, q, rtol=1e-9)


def test_nystroem_with_all_landmarks_is_exact_and_few_landmarks_close():
    rng = np.random.default_rng(2)
    X = _moons(150, rng)
    Y = np.r_[_moons(20, rng), _gap_points(20, rng)]
    exact = KernelMetric(gamma=2.0, reg=1e-2).fit(X)
    full = KernelMetric(gamma=2.0, reg=1e-2, n_components=150, random_state=0).fit(X)
    np.testing.assert_allclose(full.distance(Y), exact.distance(Y), rtol=1e-6)
    few = KernelMetric(gamma=2.0, reg=1e-2, n_components=60, random_state=0).fit(X)
    assert np.corrcoef(few.distance(Y), exact.distance(Y))[0, 1] > 0.98


def test_rbf_separates_moons_outliers_better_than_linear():
    rng = np.random.default_rng(3)
    X = _moons(300, rng)
    inl, outl = _moons(200, rng), _gap_points(200, rng)
    lin = KernelMetric("linear").fit(X)
    rbf = KernelMetric("rbf", random_state=0).fit(X)
    auc_lin = _auroc(lin.distance(inl), lin.distance(outl))
    auc_rbf = _auroc(rbf.distance(inl), rbf.distance(outl))
    assert auc_rbf > 0.97
    assert auc_rbf > auc_lin + 0.05


def test_conformal_pvalues_calibrated_and_deterministic():
    rng = np.random.default_rng(4)
    X = _moons(400, rng)
    km = KernelMetric(random_state=5).fit(X)
    new = _moons(1000, rng)
    pv = km.pvalue(new)
    assert pv.min() >= 1.0 / 101 - 1e-12 and pv.max() <= 1.0
    # super-uniform: P(p <= 0.1) <= 0.1, within binomial slack (n=1000, sd ~ 0.0095)
    assert np.mean(pv <= 0.1) < 0.1 + 0.04
    assert np.mean(km.outliers(_gap_points(100, rng), alpha=0.05)) > 0.9
    again = KernelMetric(random_state=5).fit(X)
    np.testing.assert_array_equal(again.pvalue(new[:20]), pv[:20])


def test_errors_and_repr():
    X = np.random.default_rng(0).standard_normal((20, 2))
    with pytest.raises(ValueError, match="kernel must be"):
        KernelMetric("nope").fit(X)
    with pytest.raises(ValueError, match="reg"):
        KernelMetric(reg=0).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        KernelMetric(n_components=0).fit(X)
    with pytest.raises(ValueError, match="not fitted"):
        KernelMetric().distance(X)
    km = KernelMetric().fit(X)
    with pytest.raises(ValueError, match="columns"):
        km.distance(np.ones((2, 3)))
    assert "KernelMetric(kernel='rbf'" in repr(km) and "gamma=" in repr(km)
    with pytest.raises(ValueError, match="Gram"):
        KernelMetric(lambda A, B: A @ A.T).fit(X).distance(X[:3])


def test_nystroem_pvalues_and_dataframe_input():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(6)
    X = _moons(300, rng)
    km = KernelMetric(n_components=80, random_state=1).fit(pd.DataFrame(X, columns=["a", "b"]))
    pv = km.pvalue(_moons(400, rng))
    assert np.mean(pv <= 0.1) < 0.1 + 0.05
    assert np.mean(km.pvalue(_gap_points(50, rng)) <= 0.05) > 0.8
