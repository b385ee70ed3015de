"""The one-pass kernels of _linalg (compiled ``_ckernels.c`` and their numpy twins): exact
co-moments against rational arithmetic, fused batch distances and all-pairs distances against
direct computations, both code paths, threads, strides and non-finite input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

import mahalanobis as mh
from conftest import load_reference, reference_names
from mahalanobis import _kernels, _linalg

PATHS = ["compiled", "numpy"] if _kernels.C is not None else ["numpy"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    """Run a test on the compiled kernels and on the numpy code path (no extension)."""
    if request.param == "numpy":
        monkeypatch.setattr(_kernels, "C", None)
    return request.param


def _exact_moments(X):
    """Mean and co-moments of X in exact rational arithmetic, rounded once to double."""
    n, p = X.shape
    cols = [[Fraction(float(v)) for v in X[:, j]] for j in range(p)]
    mean = [sum(c) / n for c in cols]
    dev = [[v - mean[j] for v in cols[j]] for j in range(p)]
    M = np.empty((p, p))
    for i in range(p):
        for j in range(i, p):
            M[i, j] = M[j, i] = float(sum(a * b for a, b in zip(dev[i], dev[j])))
    return np.array([float(m) for m in mean]), M, mean, dev


def _ulps(a, b):
    return float(np.max(np.abs(a - b) / np.spacing(np.abs(b))))


@pytest.mark.parametrize("shape,offset", [((37, 3), 0.0), ((300, 5), 1e6), ((600, 13), 3.0),
                                          ((257, 2), -1e9)])
def test_exact_moments_are_correctly_rounded(path, shape, offset):
    """Exact mode: mean and co-moments equal the rational result rounded once (R's
    long-double cov gives the same), whatever the offset."""
    rng = np.random.default_rng(shape[0])
    n, p = shape
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) + offset * (1 + rng.random(p))
    mean, M, _, _ = _exact_moments(X)
    mom = _linalg.moments(X, exact=True)
    assert mom.exact and mom.finite and not mom.constant.any()
    assert _ulps(mom.mean, mean) <= 1
    assert _ulps(mom.M2, M) <= 1
    # the covariance is divided once from the double-double sums
    assert _ulps(mom.scatter(1), M / (n - 1)) <= 2


def test_fast_mode_and_threads_agree_with_exact(path, monkeypatch):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20_000, 7)) * [1, 10, 100, 1e-3, 1, 1, 1] + 50
    exact = _linalg.moments(X, exact=True)
    fast = _linalg.moments(X, exact=False)
    assert fast.exact == (path == "numpy")  # the numpy path is always exact
    np.testing.assert_allclose(fast.M2, exact.M2, rtol=1e-12, atol=1e-12 * exact.M2.max())
    monkeypatch.setattr(_linalg, "PARALLEL_MIN_ELEMENTS", 1000)  # several threads, merged
    threaded = _linalg.moments(X, exact=True)
    assert _ulps(threaded.M2, exact.M2) <= 1 and _ulps(threaded.mean, exact.mean) <= 1


@pytest.mark.parametrize("p", [100, 150, 200])
def test_fast_mode_blocks_of_any_width(p):
    """Fast mode with the widths whose default block (512 KiB / 8p rows) is not a multiple of
    8 rows: the kernel's padded column tiles once overlapped there (errors of 1e-3 in the
    co-moments); now they agree with the exact mode to rounding, on one thread and on
    several."""
    rng = np.random.default_rng(p)
    X = rng.standard_normal((1500, p)) @ (np.eye(p) + 0.1) + 3.0
    exact = _linalg.moments(X, exact=True)
    fast = _linalg.moments(X, exact=False)
    tol = 1e-13 * np.abs(exact.M2).max()
    np.testing.assert_allclose(fast.M2, exact.M2, rtol=0, atol=tol)
    np.testing.assert_allclose(fast.M2, np.cov(X.T) * (X.shape[0] - 1), rtol=0, atol=tol)


def test_constant_columns_and_non_finite(path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3000, 6))
    X[:, 1] = 0.1          # constant (its mean is not exactly representable as a sum)
    X[:, 3] = -7.25e5
    X[:, 5] = 1.0
    X[1234, 5] = 1.0 + 2 ** -52   # one ulp apart: not constant
    mom = _linalg.moments(X)
    assert mom.constant.tolist() == [False, True, False, True, False, False]
    assert np.diagonal(mom.M2)[[1, 3]].max() == 0.0 or np.diagonal(mom.M2)[1] < 1e-25
    X[17, 2] = np.nan
    assert not _linalg.moments(X).finite
    X[17, 2] = np.inf
    assert not _linalg.moments(X).finite


def test_fourth_moment_sums(path):
    """Ledoit-Wolf's sum ||x - m||^4 and the third-moment vector, merged across blocks with
    their shifts, equal direct sums; and about another centre."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((5000, 4)) ** 3 + 2.0
    mom = _linalg.moments(X, fourth=True)
    C = X - X.mean(0)
    a = np.einsum("ij,ij->i", C, C)
    assert mom.q4 == pytest.approx(float(a @ a), rel=1e-12)
    np.testing.assert_allclose(mom.t, C.T @ a, rtol=1e-9, atol=1e-9 * np.abs(C.T @ a).max())
    c = np.array([1.0, -2.0, 0.5, 3.0])
    b = np.einsum("ij,ij->i", X - c, X - c)
    assert mom.fourth_about(c) == pytest.approx(float(b @ b), rel=1e-12)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(2, 60), p=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       log_scale=st.floats(-30, 30), log_shift=st.floats(-5, 12))
def test_exact_moments_property(n, p, seed, log_scale, log_shift):
    """Any small data set, any scale and offset: correctly rounded mean and co-moments."""
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, p)) + 10.0 ** log_shift) * 10.0 ** log_scale
    mean, M, _, _ = _exact_moments(X)
    mom = _linalg.moments(X, exact=True)
    assert _ulps(mom.mean, mean) <= 1
    nz = M != 0
    assert np.all(np.abs(mom.M2 - M)[nz] <= np.spacing(np.abs(M[nz])))


@pytest.mark.parametrize("fixture", reference_names("classical"))
def test_covariance_equals_r_on_real_data(fixture):
    """On the classical fixtures R's cov (long double sums, correctly rounded) and ours agree
    to the last bit (the old two-pass kernel was up to 7 ulps away)."""
    ref = load_reference(f"classical_{fixture}")
    X = np.array(ref["X"], dtype=float)
    m = mh.fit(X)
    assert _ulps(m.cov, np.array(ref["cov"])) <= 1
    assert _ulps(m.center, np.array(ref["colMeans"])) <= 1


# ------------------------------------------------------------------------- batch distances
def _direct_d2(X, m, S):
    V = X - m
    return np.einsum("ij,ij->i", V @ np.linalg.inv(S), V)


@pytest.mark.parametrize("p", [1, 3, 8, 10, 17, 40, 41, 70])
def test_sq_distances_all_paths(path, p):
    """Register-blocked (p <= 40) and BLAS (p > 40) kernels, lower and upper factors, C- and
    Fortran-ordered and strided input, square roots, ragged blocks."""
    rng = np.random.default_rng(p)
    A = rng.standard_normal((p, p))
    S = A @ A.T / p + np.eye(p)
    m = rng.standard_normal(p)
    X = rng.standard_normal((1003, p)) + m
    ref = _direct_d2(X, m, S)
    for metric in (mh.Metric(m, S), mh.Metric.from_precision(m, np.linalg.inv(S))):
        for Xv in (X, np.asfortranarray(X), np.repeat(X, 2, axis=0)[::2]):
            d2, bad = _linalg.sq_distances(Xv, metric.center, metric._W, metric._W_lower)
            assert bad == 0
            np.testing.assert_allclose(d2, ref, rtol=1e-11)
        d, _ = _linalg.sq_distances(X, metric.center, metric._W, metric._W_lower,
                                    take_sqrt=True)
        np.testing.assert_allclose(d, np.sqrt(ref), rtol=1e-11)


def test_sq_distances_threads_and_non_finite(path, monkeypatch):
    rng = np.random.default_rng(9)
    p = 12
    X = rng.standard_normal((50_001, p))
    X[[7, 40_000], [3, 0]] = [np.nan, -np.inf]
    metric = mh.Metric(np.zeros(p), np.eye(p) + 0.3)
    single, bad1 = _linalg.sq_distances(X, metric.center, metric._W, True)
    monkeypatch.setattr(_linalg, "PARALLEL_MIN_ELEMENTS", 1000)
    threaded, bad2 = _linalg.sq_distances(X, metric.center, metric._W, True)
    assert bad1 == bad2 == 2
    np.testing.assert_array_equal(np.isfinite(threaded), np.isfinite(single))
    ok = np.isfinite(single)
    np.testing.assert_allclose(threaded[ok], single[ok], rtol=1e-13)
    # the Metric applies nan_policy to exactly those rows
    with pytest.raises(ValueError, match=r"rows \[7, 40000\]"):
        metric.distance(X)
    with pytest.warns(UserWarning, match="dropped 2"):
        assert metric.distance(X, nan_policy="omit").shape == (49_999,)


def test_function_form_equals_prepared_metric():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((5000, 6))
    S = np.cov(X.T) + np.eye(6)
    np.testing.assert_array_equal(mh.distance(X, np.zeros(6), S),
                                  mh.Metric(np.zeros(6), S).distance(X))


# ------------------------------------------------------------------------- all pairs
@pytest.mark.parametrize("p", [2, 9, 50])
def test_pairwise_paths_and_near_pairs(path, p, monkeypatch):
    """All pairs against scipy: far pairs, near pairs (rows vs rows + 1e-9: recomputed from
    the exact differences, 1e-16-level like scipy), an exactly symmetric self-distance matrix
    with a zero diagonal, and threads."""
    rng = np.random.default_rng(p)
    A = rng.standard_normal((p, p))
    S = A @ A.T / p + np.eye(p)
    X = rng.standard_normal((150, p)) * 10 + 100
    Y = X + 1e-9
    VI = np.linalg.inv(S)
    D = mh.pairwise(X, Y, cov=S)
    R = cdist(X, Y, "mahalanobis", VI=VI)
    assert np.max(np.abs(np.diag(D) - np.diag(R)) / np.diag(R)) < 1e-14
    off = ~np.eye(150, dtype=bool)
    assert np.max(np.abs(D - R)[off] / R[off]) < 4e-10
    monkeypatch.setattr(_linalg, "PARALLEL_MIN_ELEMENTS", 10)
    monkeypatch.setattr(_linalg, "PAIRWISE_PANEL", 8)
    Ds = mh.pairwise(X, cov=S, squared=True)
    np.testing.assert_array_equal(Ds, Ds.T)
    assert np.all(np.diag(Ds) == 0)
    # far pairs keep eps (|a|^2 + |b|^2) / D^2 <= eps / NEAR_PAIR_RTOL relative accuracy
    np.testing.assert_allclose(Ds[off], (cdist(X, X, "mahalanobis", VI=VI) ** 2)[off],
                               rtol=4e-10)


@pytest.mark.skipif(_kernels.C is None, reason="needs the compiled kernels")
def test_pairwise_compiled_wide_rows_nan_and_mpmath(monkeypatch):
    """The compiled all-pairs pass (vector lanes for the expansion, the clamp and the square
    root; taller panels from p = 128): the numpy path's numbers, NaN rows kept NaN under
    nan_policy='propagate', near pairs recomputed, on threads (the numpy path once skipped
    the near pairs of a block holding a NaN row); a few entries against mpmath at 50
    digits."""
    import mpmath
    rng = np.random.default_rng(11)
    p = 130
    A = rng.standard_normal((p, p))
    S = A @ A.T / p + np.eye(p)
    X = rng.standard_normal((300, p)) + 5.0
    Y = np.vstack([X[:20] + 1e-9, rng.standard_normal((180, p))])   # 20 near pairs
    X[7, 3] = np.nan
    monkeypatch.setattr(_linalg, "PARALLEL_MIN_ELEMENTS", 10)
    for squared in (False, True):
        D = mh.pairwise(X, Y, cov=S, squared=squared, nan_policy="propagate")
        with monkeypatch.context() as m:
            m.setattr(_kernels, "C", None)
            R = mh.pairwise(X, Y, cov=S, squared=squared, nan_policy="propagate")
        assert np.isnan(D[7]).all() and not np.isnan(np.delete(D, 7, axis=0)).any()
        np.testing.assert_allclose(np.delete(D, 7, axis=0), np.delete(R, 7, axis=0),
                                   rtol=1e-12, atol=0)
    mpmath.mp.dps = 50
    Sm = mpmath.matrix(S.tolist())
    for i, j in [(0, 0), (5, 5), (3, 100), (250, 199)]:
        v = mpmath.matrix((X[i] - Y[j]).tolist())
        ref = float((v.T * mpmath.lu_solve(Sm, v))[0])
        assert D[i, j] == pytest.approx(ref, rel=1e-9)


def test_pairwise_refines_ill_conditioned_scatter():
    """Correlation condition 1e8: pairwise applies S^-1 with iterative refinement, like
    distance (reference: exact rational arithmetic)."""
    rng = np.random.default_rng(0)
    p = 5
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    S = Q @ np.diag([1, 1e-2, 1e-4, 1e-6, 1e-8]) @ Q.T
    S = (S + S.T) / 2
    X = rng.standard_normal((8, p))
    D = mh.Metric(np.zeros(p), S).pairwise(X, squared=True)
    Sf = [[Fraction(float(v)) for v in row] for row in S]
    # exact S^-1 (a - b) by Gauss-Jordan in rationals
    def quad(v):
        M = [[*row, Fraction(float(x))] for row, x in zip(Sf, v)]
        for c in range(p):
            piv = next(r for r in range(c, p) if M[r][c] != 0)
            M[c], M[piv] = M[piv], M[c]
            for r in range(p):
                if r != c and M[r][c] != 0:
                    f = M[r][c] / M[c][c]
                    M[r] = [a - f * b for a, b in zip(M[r], M[c])]
        w = [M[r][p] / M[r][r] for r in range(p)]
        return float(sum(Fraction(float(x)) * y for x, y in zip(v, w)))
    ref = np.array([[quad(a - b) if i != j else 0.0 for j, b in enumerate(X)]
                    for i, a in enumerate(X)])
    off = ~np.eye(8, dtype=bool)
    assert np.max(np.abs(D - ref)[off] / ref[off]) < 1e-10
