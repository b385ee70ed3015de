import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

import mahalanobis as mh


@pytest.fixture
def data():
    rng = np.random.default_rng(10)
    p = 5
    A = rng.standard_normal((p, p))
    S = A @ A.T / p + 0.5 * np.eye(p)
    return rng.standard_normal((60, p)), rng.standard_normal((45, p)), S


def test_distance_functional_cov_and_precision(data):
    XA, _, S = data
    c = XA.mean(axis=0)
    ref = cdist(XA, c[None], "mahalanobis", VI=np.linalg.inv(S))[:, 0]
    np.testing.assert_allclose(mh.distance(XA, c, S), ref, rtol=1e-12)
    np.testing.assert_allclose(mh.distance(XA, c, precision=np.linalg.inv(S)), ref, rtol=1e-11)
    np.testing.assert_allclose(mh.distance(XA, c, cov=S, squared=True), ref**2, rtol=1e-12)
    with pytest.raises(ValueError, match=r"exactly one of cov= .* or precision="):
        mh.distance(XA, c)
    with pytest.raises(ValueError, match="exactly one"):
        mh.distance(XA, c, cov=S, precision=S)


def test_pairwise_matches_cdist(data):
    XA, XB, S = data
    VI = np.linalg.inv(S)
    np.testing.assert_allclose(mh.pairwise(XA, XB, cov=S),
                               cdist(XA, XB, "mahalanobis", VI=VI), rtol=1e-10)
    np.testing.assert_allclose(mh.pairwise(XA, XB, precision=VI, squared=True),
                               cdist(XA, XB, "mahalanobis", VI=VI) ** 2, rtol=1e-10)


def test_pairwise_default_cov_is_cdist_default(data):
    XA, XB, _ = data
    np.testing.assert_allclose(mh.pairwise(XA, XB), cdist(XA, XB, "mahalanobis"), rtol=1e-10)


@pytest.mark.parametrize("layout", ["F", "mixed", "strided"])
def test_pairwise_any_memory_layout(data, layout):
    """Fortran-ordered input (e.g. DataFrame.to_numpy()) and strided views give the same."""
    XA, XB, S = data
    ref = mh.pairwise(XA, XB, cov=S)
    A = np.asfortranarray(XA)
    B = XB if layout == "mixed" else np.asfortranarray(XB)
    if layout == "strided":
        A = np.repeat(XA, 2, axis=0)[::2]
        B = np.repeat(XB, 2, axis=0)[::2]
    np.testing.assert_allclose(mh.pairwise(A, B, cov=S), ref, rtol=1e-12)
    np.testing.assert_allclose(mh.pairwise(A, cov=S), mh.pairwise(XA, cov=S), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(mh.distance(A, XA.mean(0), S), mh.distance(XA, XA.mean(0), S),
                               rtol=1e-13)


def test_pairwise_self_symmetric_zero_diagonal(data):
    XA, _, S = data
    D = mh.pairwise(XA, cov=S)
    assert D.shape == (60, 60)
    assert np.array_equal(D, D.T)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_allclose(D, cdist(XA, XA, "mahalanobis", VI=np.linalg.inv(S)),
                               rtol=1e-10, atol=1e-12)


def test_pairwise_blocks_larger_than_one_block():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2100, 3))
    S = np.cov(X.T)
    D = mh.pairwise(X, cov=S, squared=True)
    assert np.array_equal(D, D.T)
    idx = rng.integers(0, 2100, size=(200, 2))
    VI = np.linalg.inv(S)
    for i, j in idx:
        v = X[i] - X[j]
        assert D[i, j] == pytest.approx(v @ VI @ v, rel=1e-10, abs=1e-13)


def test_pairwise_close_points_keep_relative_accuracy():
    """Points far from the centre but close to each other: the GEMM expansion would lose
    all digits; the near-pair recomputation keeps them."""
    rng = np.random.default_rng(5)
    p = 4
    base = 1e4 + rng.standard_normal(p)
    XA = base + 1e-6 * rng.standard_normal((30, p))
    XB = base + 1e-6 * rng.standard_normal((20, p))
    S = np.eye(p) + 0.3
    D2 = mh.pairwise(XA, XB, cov=S, squared=True)
    VI = np.linalg.inv(S)
    diff = XA[:, None, :] - XB[None, :, :]
    ref = np.einsum("ijk,kl,ijl->ij", diff, VI, diff)
    np.testing.assert_allclose(D2, ref, rtol=1e-8)


def test_pairwise_dataframes_keep_labels(data):
    XA, XB, S = data
    A = pd.DataFrame(XA[:4], index=list("abcd"))
    B = pd.DataFrame(XB[:3], index=list("xyz"))
    D = mh.pairwise(A, B, cov=S)
    assert list(D.index) == list("abcd") and list(D.columns) == list("xyz")
    DA = mh.pairwise(A, cov=S)
    assert list(DA.columns) == list("abcd")


def test_pairwise_errors(data):
    XA, XB, S = data
    with pytest.raises(ValueError, match="XB has 3 columns but 5 were expected"):
        mh.pairwise(XA, XB[:, :3], cov=S)
    with pytest.raises(ValueError, match="needs cov= or precision="):
        mh.pairwise(XA[:4])
    with pytest.raises(ValueError, match="not both"):
        mh.pairwise(XA, cov=S, precision=S)


def test_whiten_functional(data):
    XA, _, S = data
    c = XA.mean(axis=0)
    Z = mh.whiten(XA, c, S)
    np.testing.assert_allclose(np.sum(Z**2, axis=1), mh.distance(XA, c, S, squared=True),
                               rtol=1e-11)
