"""Accuracy of ``whiten`` and ``pairwise`` against 60-digit mpmath (issue 12, item 6).

On the ill-conditioned fixture (tests/reference/illcond_mpmath.py: covariances taken as exact,
condition 1e4..1e8) the whitened rows must match z = L*^-1 (x - m) for the exact Cholesky factor
L* of S, and all-pairs D^2 must match (a - b)^T S^-1 (a - b), both about as closely as
``distance`` matches D^2; near pairs (rows against rows + 1e-9) keep their relative accuracy,
as scipy's ``cdist`` does (which forms the difference first).
"""

import warnings

import mpmath
import numpy as np
import pytest

import mahalanobis as mh
from conftest import load_reference

CASES = [c for c in load_reference("illcond")["cases"] if c["target_cond"] <= 1e8]
DPS = 60


def _id(c):
    return f"{c['kind']}-p{c['p']}-cond{c['target_cond']:.0e}"


def _metric(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.IllConditionedWarning)
        return mh.Metric(case["center"], case["cov"])


def _exact_d2(S_inv, a, b):
    v = mpmath.matrix([mpmath.mpf(x) - mpmath.mpf(y) for x, y in zip(a, b)])
    return (v.T * S_inv * v)[0]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_whiten_matches_the_exact_cholesky_factor(case):
    with mpmath.workdps(DPS):
        m = _metric(case)
        X = np.array(case["X"])[:8]
        Z = m.whiten(X)
        L = mpmath.cholesky(mpmath.matrix(case["cov"]))
        worst = 0.0
        for i in range(X.shape[0]):
            v = [mpmath.mpf(x) - mpmath.mpf(c) for x, c in zip(X[i], case["center"])]
            z = mpmath.lu_solve(L, mpmath.matrix(v))
            norm = mpmath.sqrt(sum(t ** 2 for t in z))
            err = mpmath.sqrt(sum((mpmath.mpf(Z[i, k]) - z[k]) ** 2 for k in range(len(z))))
            worst = max(worst, float(err / norm))
    assert worst <= 1e-12, worst  # 1.4e-13 measured; plain whitening: 2.5e-10
    np.testing.assert_allclose(np.einsum("ij,ij->i", Z, Z), m.distance(X, squared=True),
                               rtol=5e-12)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_pairwise_and_near_pairs_match_mpmath(case):
    with mpmath.workdps(DPS):
        m = _metric(case)
        X = np.array(case["X"])[:8]
        rng = np.random.default_rng(12)
        Y = X + 1e-9 * rng.standard_normal(X.shape) * np.sqrt(np.diag(case["cov"]))
        S_inv = mpmath.matrix(case["cov"]) ** -1
        P = m.pairwise(X, squared=True)
        near = np.diag(m.pairwise(X, Y, squared=True))
        far = max(abs(float((mpmath.mpf(P[i, j]) - t) / t))
                  for i in range(8) for j in range(8) if i != j
                  for t in [_exact_d2(S_inv, X[i], X[j])])
        close = max(abs(float((mpmath.mpf(near[i]) - t) / t))
                    for i in range(8) for t in [_exact_d2(S_inv, X[i], Y[i])])
    assert far <= 1e-12, far  # 2.0e-13 measured
    assert close <= 2e-12, close  # 6.4e-13 measured


def test_near_pairs_keep_relative_accuracy_like_scipy():
    """Rows against rows + 1e-9 under a well-conditioned scatter: about 1e-16, as scipy."""
    from scipy.spatial.distance import cdist
    rng = np.random.default_rng(3)
    A = rng.standard_normal((200, 4))
    S = np.cov(rng.standard_normal((50, 4)).T)
    X, Y = A, A + 1e-9 * rng.standard_normal(A.shape)
    near = np.diag(mh.pairwise(X, Y, cov=S))
    with mpmath.workdps(40):
        S_inv = mpmath.matrix(S.tolist()) ** -1
        exact = np.array([float(mpmath.sqrt(_exact_d2(S_inv, X[i], Y[i]))) for i in range(200)])
    ours = np.max(np.abs(near - exact) / exact)
    theirs = np.max(np.abs(np.diag(cdist(X, Y, "mahalanobis", VI=np.linalg.inv(S))) - exact)
                    / exact)
    assert ours <= max(4 * theirs, 1e-15), (ours, theirs)
