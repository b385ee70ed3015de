import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh
from mahalanobis._linalg import mean_and_cov as _two_pass_cov


def test_mean_location_is_numpy_cov():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 4))
    m = mh.covariance.empirical(X)
    np.testing.assert_allclose(m.center, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(m.cov, np.cov(X.T), rtol=1e-13)
    assert m.method == "empirical" and m.n_samples == 100


def test_median_and_given_location():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((51, 3))
    med = np.median(X, axis=0)
    m = mh.covariance.empirical(X, location="median")
    np.testing.assert_allclose(m.center, med)
    np.testing.assert_allclose(m.cov, (X - med).T @ (X - med) / 50, rtol=1e-13)
    loc = np.array([0.1, -0.2, 0.3])
    g = mh.fit(X, location=loc)
    np.testing.assert_allclose(g.cov, (X - loc).T @ (X - loc) / 51, rtol=1e-13)
    g1 = mh.fit(X, location=loc, ddof=1)
    np.testing.assert_allclose(g1.cov, (X - loc).T @ (X - loc) / 50, rtol=1e-13)


def test_chunked_two_pass_is_accurate_with_a_large_offset():
    """A naive one-pass sum of squares loses everything at offset 1e8; two passes do not."""
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((300_000, 3))
    X = Z + 1e8
    _, S = _two_pass_cov(X)
    np.testing.assert_allclose(S, np.cov(Z.T), rtol=1e-7)
    naive = (X.T @ X - np.outer(X.sum(0), X.sum(0)) / X.shape[0]) / (X.shape[0] - 1)
    assert not np.allclose(naive, np.cov(Z.T), rtol=1e-2)  # the naive formula fails here


def test_dataframe_input_fit_and_distance_series():
    df = pd.DataFrame(np.random.default_rng(3).standard_normal((20, 2)), columns=["x", "y"],
                      index=[f"id{i}" for i in range(20)])
    m = mh.fit(df)
    d = m.distance(df)
    assert isinstance(d, pd.Series) and d.index[0] == "id0" and d.name == "distance"
    assert m.distance(df, squared=True).name == "d2"


@pytest.mark.parametrize("n", [4, 5])
def test_n_equal_p_is_an_error(n):
    with pytest.raises(mh.SingularCovarianceError, match="more rows than features"):
        mh.fit(np.random.default_rng(0).standard_normal((n, 5)))
