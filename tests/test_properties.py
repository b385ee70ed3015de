"""Property tests (hypothesis): invariances and identities of the Mahalanobis distance."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mahalanobis as mh

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw, max_p=5):
    p = draw(st.integers(1, max_p))
    n = draw(st.integers(1, 12))
    X = draw(arrays(float, (n, p), elements=finite))
    A = draw(arrays(float, (p, p), elements=st.floats(-2, 2)))
    S = A @ A.T + np.eye(p)  # well conditioned by construction
    m = draw(arrays(float, (p,), elements=finite))
    return X, m, S


@settings(max_examples=60, deadline=None)
@given(problems(), st.integers(0, 2**32 - 1))
def test_affine_invariance(prob, seed):
    X, m, S = prob
    p = m.shape[0]
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p, p)) + 3 * np.eye(p)  # comfortably invertible
    b = rng.standard_normal(p)
    d = mh.distance(X, m, S)
    d_t = mh.distance(X @ A.T + b, A @ m + b, A @ S @ A.T)
    np.testing.assert_allclose(d_t, d, rtol=1e-7, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_identity_scatter_is_euclidean(prob):
    X, m, _ = prob
    p = m.shape[0]
    np.testing.assert_allclose(mh.distance(X, m, np.eye(p)), np.linalg.norm(X - m, axis=1),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_squared_distance_is_norm_of_whitened(prob):
    X, m, S = prob
    metric = mh.Metric(m, S)
    d2 = metric.distance(X, squared=True)
    for method in ("cholesky", "zca", "pca"):
        Z = metric.whiten(X, kind=method)
        np.testing.assert_allclose(np.sum(Z**2, axis=1), d2, rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_pairwise_symmetric_zero_diagonal(prob):
    X, _, S = prob
    D = mh.pairwise(X, cov=S)
    assert np.array_equal(D, D.T)
    assert np.all(np.diag(D) == 0)
    assert np.all(D >= 0)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_pairwise_to_one_point_is_distance(prob):
    X, m, S = prob
    np.testing.assert_allclose(mh.pairwise(X, m[None], cov=S)[:, 0], mh.distance(X, m, S),
                               rtol=1e-8, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_triangle_inequality(prob):
    X, _, S = prob
    D = mh.pairwise(X, cov=S)
    n = D.shape[0]
    for k in range(n):
        assert np.all(D <= D[:, [k]] + D[[k], :] + 1e-8)
