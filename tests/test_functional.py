import numpy as np
import pytest

from mahalanobis.variants.functional import FunctionalMetric, trapezoid_weights

K = 20
J = np.arange(1, K + 1)
LAM = 1.0 / ((J - 0.5) * np.pi) ** 2  # Karhunen-Loeve eigenvalues of Brownian motion


def _curves(C, t, k=K):
    phi = np.sqrt(2.0) * np.sin(np.outer(J[:k] - 0.5, np.pi * t))
    return C @ phi + np.cos(3.0 * t)


@pytest.fixture
def coefs():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((80, K)) * np.sqrt(LAM),
            rng.standard_normal((10, K)) * np.sqrt(LAM) * 1.3)


def test_trapezoid_weights():
    t = np.array([0.0, 0.1, 0.4, 1.0])
    w = trapezoid_weights(t)
    np.testing.assert_allclose(w, [0.05, 0.2, 0.45, 0.3])
    f = t**2
    assert w @ f == pytest.approx(np.sum(np.diff(t) * (f[1:] + f[:-1]) / 2))
    with pytest.raises(ValueError, match="increasing"):
        trapezoid_weights([0.0, 0.5, 0.5])


@pytest.mark.parametrize("grid", ["uniform", "nonuniform"])
def test_matches_finite_dimensional_computation(grid):
    """Curves in a 5-dimensional span of orthonormal functions: on a fine grid the functional
    distances equal the matrix computations on the coefficient vectors."""
    rng = np.random.default_rng(1)
    k = 5
    C = rng.standard_normal((60, k)) * np.sqrt(LAM[:k] * 20)
    Cn = rng.standard_normal((8, k)) * np.sqrt(LAM[:k] * 20) * 1.5
    t = np.linspace(0.0, 1.0, 2001)
    if grid == "nonuniform":
        t = t**1.5
    Sc = np.cov(C.T)
    V = Cn - C.mean(axis=0)
    ref_fpca = np.einsum("ij,ji->i", V, np.linalg.solve(Sc, V.T))
    lam, Q = np.linalg.eigh(Sc)
    reg = 0.05 / lam.sum()  # reg is relative: the ridge is reg * total variance = 0.05
    ref_rkhs = ((V @ Q) ** 2) @ (lam / (lam + 0.05) ** 2)
    fp = FunctionalMetric("fpca", n_components=k, grid=t).fit(_curves(C, t, k))
    rk = FunctionalMetric("rkhs", reg=reg, grid=t).fit(_curves(C, t, k))
    assert rk.reg_ == pytest.approx(0.05, rel=1e-5)
    np.testing.assert_allclose(fp.distance(_curves(Cn, t, k), squared=True), ref_fpca,
                               rtol=1e-10)
    np.testing.assert_allclose(rk.distance(_curves(Cn, t, k), squared=True), ref_rkhs,
                               rtol=1e-5)
    np.testing.assert_allclose(np.sort(rk.eigenvalues_), lam, rtol=1e-5)
    assert rk.n_components_ == k  # numerically zero eigenvalues dropped
    # eigenfunctions are orthonormal in the quadrature inner product
    E = rk.eigenfunctions_
    np.testing.assert_allclose((E * rk.weights_) @ E.T, np.eye(k), atol=1e-12)


@pytest.mark.parametrize("method,kw", [("fpca", {"n_components": 4}),
                                       ("rkhs", {"reg": 1e-3}), ("rkhs", {})])
def test_invariant_to_grid_refinement(coefs, method, kw):
    C, Cn = coefs
    grids = {"u101": np.linspace(0, 1, 101), "u401": np.linspace(0, 1, 401),
             "n101": np.linspace(0, 1, 101) ** 1.5, "n401": np.linspace(0, 1, 401) ** 1.5}
    ref_t = np.linspace(0, 1, 4001)
    ref = FunctionalMetric(method, grid=ref_t, **kw).fit(_curves(C, ref_t)).distance(
        _curves(Cn, ref_t))
    for name, t in grids.items():
        d = FunctionalMetric(method, grid=t, **kw).fit(_curves(C, t)).distance(_curves(Cn, t))
        tol = 1e-10 if name.startswith("u") else (2e-4 if name == "n101" else 2e-5)
        np.testing.assert_allclose(d, ref, rtol=tol, err_msg=name)


def test_pairwise_and_distance_agree(coefs):
    C, Cn = coefs
    t = np.linspace(0, 1, 101)
    fm = FunctionalMetric(reg=1e-3).fit(_curves(C, t))
    D = fm.pairwise(_curves(Cn, t))
    assert np.allclose(D, D.T) and np.all(np.diag(D) == 0)
    mean_curve = fm.mean_[None, :]
    np.testing.assert_allclose(fm.pairwise(_curves(Cn, t), mean_curve)[:, 0],
                               fm.distance(_curves(Cn, t)), rtol=1e-8)


@pytest.mark.parametrize("method", ["fpca", "rkhs"])
def test_outlier_detection(method):
    rng = np.random.default_rng(2)
    t = np.linspace(0, 1, 101)
    C = rng.standard_normal((300, K)) * np.sqrt(LAM)
    fm = FunctionalMetric(method, random_state=0).fit(_curves(C, t))
    clean = _curves(rng.standard_normal((2000, K)) * np.sqrt(LAM), t)
    rate = fm.outliers(clean, alpha=0.05).mean()
    assert rate < 0.05 + 0.03  # about alpha (estimated eigenpairs), within binomial slack
    # shape outliers: wiggles (components 2-5) four times as strong as the process makes
    Cs = rng.standard_normal((50, K)) * np.sqrt(LAM)
    Cs[:, 1:5] *= 4.0
    shaped = _curves(Cs, t)
    assert fm.outliers(shaped, alpha=0.05).mean() > 0.8
    pv = fm.pvalue(shaped)
    assert np.all((pv > 0) & (pv <= 1))
    assert fm.cutoff(0.01) > fm.cutoff(0.05)


def test_component_selection_and_errors(coefs):
    C, _ = coefs
    t = np.linspace(0, 1, 51)
    X = _curves(C, t)
    fm = FunctionalMetric("fpca").fit(X)
    frac = np.cumsum(fm.eigenvalues_) / fm.total_variance_
    assert frac[-1] >= 0.95 and (fm.n_components_ == 1 or frac[-2] < 0.95)
    assert FunctionalMetric("fpca", n_components=0.5).fit(X).n_components_ <= fm.n_components_
    assert FunctionalMetric("rkhs", n_components=3).fit(X).n_components_ == 3
    assert "method='fpca'" in repr(fm)
    with pytest.raises(ValueError, match="method"):
        FunctionalMetric("pca").fit(X)
    with pytest.raises(ValueError, match="grid"):
        FunctionalMetric(grid=np.linspace(0, 1, 10)).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        FunctionalMetric("fpca", n_components=-2).fit(X)
    with pytest.raises(ValueError, match="columns"):
        fm.distance(X[:, :10])


def test_deprecated_absolute_alpha_keeps_its_meaning(coefs):
    C, Cn = coefs
    t = np.linspace(0, 1, 101)
    with pytest.warns(FutureWarning, match="reg="):
        old = FunctionalMetric(alpha=0.05).fit(_curves(C, t))
    assert old.reg_ == 0.05
    new = FunctionalMetric(reg=0.05 / old.total_variance_).fit(_curves(C, t))
    np.testing.assert_allclose(old.distance(_curves(Cn, t)), new.distance(_curves(Cn, t)),
                               rtol=1e-10)
