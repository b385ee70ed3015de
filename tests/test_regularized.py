"""Modified Cholesky precision estimator (mahalanobis.covariance.regularized)."""

import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh
from mahalanobis.covariance.regularized import modified_cholesky


def _data(n, p, seed=0, rho=0.6):
    rng = np.random.default_rng(seed)
    cov = rho ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    scales = np.linspace(1.0, 50.0, p)  # columns on different scales
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(cov).T * scales + 10.0
    return X


def test_unpenalised_single_ordering_is_the_inverse_sample_covariance():
    X = _data(2000, 6)
    m = modified_cholesky(X, n_orderings=1, penalty="none")
    P = np.linalg.inv(np.cov(X.T))
    np.testing.assert_allclose(m.precision, P, rtol=1e-8, atol=1e-8 * np.abs(P).max())
    np.testing.assert_allclose(m.center, X.mean(0), rtol=1e-13)
    assert m.log_det == pytest.approx(np.linalg.slogdet(np.cov(X.T))[1], rel=1e-10)
    np.testing.assert_allclose(m.cov, np.cov(X.T), rtol=1e-8)
    # ridge with lam = 0 is the same estimator
    m0 = modified_cholesky(X, n_orderings=1, lam=0.0)
    np.testing.assert_allclose(m0.precision, m.precision, rtol=1e-12)


def test_factors_are_the_penalised_regressions():
    """Row j of T is minus the ridge coefficients of variable j on 1..j-1; D the residual
    variances (standardised regressions mapped back to data units)."""
    X = _data(40, 5, seed=1)
    lam = 0.3
    m = modified_cholesky(X, n_orderings=1, lam=lam)
    n, p = X.shape
    sd = X.std(0, ddof=1)
    Z = (X - X.mean(0)) / sd
    T, D = m.T, m.D
    np.testing.assert_allclose(np.diag(T), 1.0)
    assert np.all(np.triu(T, 1) == 0)
    for j in range(1, p):
        A, y = Z[:, :j], Z[:, j]
        b = np.linalg.solve(A.T @ A / (n - 1) + lam * np.eye(j), A.T @ y / (n - 1))
        np.testing.assert_allclose(-T[j, :j] * sd[:j] / sd[j], b, rtol=1e-10)
        rss = np.sum((y - A @ b) ** 2) / (n - 1)
        assert D[j] == pytest.approx(rss * sd[j] ** 2, rel=1e-10)
    assert D[0] == pytest.approx(sd[0] ** 2, rel=1e-12)


def test_distances_from_T_and_D_equal_those_from_omega():
    X = _data(30, 8, seed=2)
    X_new = _data(50, 8, seed=3)
    m = modified_cholesky(X, n_orderings=1, lam=0.1)
    Omega = m.T.T @ np.diag(1.0 / m.D) @ m.T
    np.testing.assert_allclose(m.precision, Omega, rtol=1e-10, atol=1e-12 * np.abs(Omega).max())
    ref = mh.Metric.from_precision(m.center, Omega)
    np.testing.assert_allclose(m.distance(X_new, squared=True), ref.distance(X_new, squared=True),
                               rtol=1e-10)
    V = X_new - m.center
    np.testing.assert_allclose(m.distance(X_new, squared=True),
                               np.einsum("ij,jk,ik->i", V, Omega, V), rtol=1e-10)
    assert m.log_det == pytest.approx(-np.linalg.slogdet(Omega)[1], rel=1e-10)
    np.testing.assert_allclose(m.cov @ m.precision, np.eye(8), atol=1e-9)


def test_averaged_distance_is_the_mean_of_per_ordering_distances():
    X = _data(25, 7, seed=4)
    X_new = _data(40, 7, seed=5)
    m = modified_cholesky(X, n_orderings=6, lam=0.2, random_state=3)
    assert m.orderings.shape == (6, 7) and m.T is None and m.D is None
    per = [modified_cholesky(X[:, perm], n_orderings=1, lam=0.2).distance(
        X_new[:, perm], squared=True) for perm in m.orderings]
    np.testing.assert_allclose(m.distance(X_new, squared=True), np.mean(per, axis=0),
                               rtol=1e-10)


def test_all_orderings_make_the_estimate_exactly_permutation_invariant():
    X = _data(30, 4, seed=6)
    X_new = _data(20, 4, seed=7)
    perm = np.array([2, 0, 3, 1])
    a = modified_cholesky(X, n_orderings="all", random_state=0)
    b = modified_cholesky(X[:, perm], n_orderings="all", random_state=0)
    assert a.n_orderings == 24 and a.lam == b.lam  # CV is invariant too
    np.testing.assert_allclose(b.distance(X_new[:, perm]), a.distance(X_new), rtol=1e-10)
    np.testing.assert_allclose(b.precision, a.precision[np.ix_(perm, perm)], rtol=1e-10)


def test_random_orderings_are_permutation_invariant_in_distribution():
    """Permuting columns changes the distances less as more orderings are averaged."""
    X = _data(20, 10, seed=8, rho=0.8)
    X_new = _data(200, 10, seed=9, rho=0.8)
    perm = np.random.default_rng(1).permutation(10)

    def discrepancy(k):
        a = modified_cholesky(X, n_orderings=k, lam=0.05, random_state=2)
        b = modified_cholesky(X[:, perm], n_orderings=k, lam=0.05, random_state=3)
        da, db = a.distance(X_new, squared=True), b.distance(X_new[:, perm], squared=True)
        return np.median(np.abs(da - db) / da)

    few, many = discrepancy(2), discrepancy(200)
    assert many < few / 3
    assert many < 0.03


def test_p_greater_than_n_is_positive_definite_with_cv_lam():
    X = _data(15, 40, seed=10)
    m = modified_cholesky(X, n_orderings=10, random_state=0)
    assert np.linalg.eigvalsh(m.precision)[0] > 0
    assert m.lam in m.lams and m.lam > m.lams[0]
    assert np.all(np.isfinite(m.cv_scores))
    assert m.cv_scores[list(m.lams).index(m.lam)] == np.max(m.cv_scores)
    d = m.distance(_data(30, 40, seed=11))
    assert np.all(np.isfinite(d)) and np.all(d > 0)
    single = modified_cholesky(X, n_orderings=1, random_state=0)
    assert np.all(single.D > 0) and np.isfinite(single.log_det)


def test_scale_equivariance_and_reproducibility():
    X = _data(25, 6, seed=12)
    X_new = _data(30, 6, seed=13)
    c = np.array([1e-3, 1.0, 7.0, 1e3, 2.0, 0.5])
    a = modified_cholesky(X, n_orderings=5, random_state=4)
    b = modified_cholesky(X * c, n_orderings=5, random_state=4)
    assert a.lam == b.lam
    np.testing.assert_allclose(b.distance(X_new * c), a.distance(X_new), rtol=1e-9)
    again = modified_cholesky(X, n_orderings=5, random_state=4)
    np.testing.assert_array_equal(again.orderings, a.orderings)
    np.testing.assert_array_equal(again.precision, a.precision)


def test_fit_dispatch_dataframe_and_repr():
    X = pd.DataFrame(_data(40, 5, seed=14), columns=list("abcde"))
    m = mh.fit(X, method="modified_cholesky", n_orderings=4, random_state=0)
    assert m.method == "modified_cholesky" and m.n_samples == 40
    assert m.feature_names == tuple("abcde")
    assert isinstance(m.distance(X), pd.Series)
    r = repr(m)
    assert "ModifiedCholeskyPrecision" in r and "n_orderings=4" in r and "lam=" in r


def test_errors_name_the_argument_and_the_fix():
    X = _data(10, 12, seed=15)
    with pytest.raises(mh.SingularCovarianceError, match="penalty='ridge'"):
        modified_cholesky(X, n_orderings=1, penalty="none")
    with pytest.raises(ValueError, match="penalty"):
        modified_cholesky(X, penalty="lasso")
    with pytest.raises(ValueError, match="lam"):
        modified_cholesky(X, penalty="none", lam=0.1)
    with pytest.raises(ValueError, match="n_orderings"):
        modified_cholesky(X, n_orderings=0)
    with pytest.raises(ValueError, match="'all'"):
        modified_cholesky(X, n_orderings="all")
    with pytest.raises(ValueError, match="lams"):
        modified_cholesky(X, lams=[-1.0])
    Xc = _data(20, 3, seed=16)
    Xc[:, 1] = 4.0
    with pytest.raises(mh.SingularCovarianceError, match="constant"):
        modified_cholesky(Xc, lam=0.1)
