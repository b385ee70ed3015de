"""Tests for the robust univariate scales (mahalanobis._scale) against robustbase 0.95-0
(tests/reference/data/robust_scales.json, written by tests/reference/robust.R)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import mahalanobis as mh
from conftest import load_reference
from mahalanobis._scale import median_rows, tau2_rows
from mahalanobis.covariance import mad, qn, scale_tau2, sn

_D = load_reference("robust_scales")
RECORDS = [r for ds in _D["datasets"] for r in ds["scales"]] + _D["edge_cases"]
IDS = [f"{r.get('name', r.get('column'))}-n{r['n']}-{k}" for k, r in enumerate(RECORDS)]


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_scales_equal_robustbase(rec):
    x = np.asarray(rec["x"], dtype=float)
    # Qn: bit for bit with exact=False (robustbase's float32 casts, 11 of the 53 data columns
    # and two edge cases end on a float32-rounded order statistic) ...
    assert qn(x, exact=False) == rec["Qn"]
    assert qn(x, exact=False, finite_correction=False) == rec["Qn_no_finite_corr"]
    # ... and the exact order statistic by default
    exact = rec["Qn_raw_exact_kth"] * rec["Qn_constant"] * rec["Qn_finite_factor"]
    assert qn(x) == pytest.approx(exact, rel=1e-15, abs=0)
    if rec["Qn_raw_is_float32_rounded"]:
        assert qn(x) != rec["Qn"]
    # Sn: exact differences, so equal to the last bit
    assert sn(x) == pytest.approx(rec["Sn"], rel=1e-15, abs=0)
    assert sn(x, finite_correction=False) == pytest.approx(rec["Sn_no_finite_corr"], rel=1e-15)
    # scaleTau2 in every consistency mode, with its location, and iterated
    assert scale_tau2(x) == pytest.approx(rec["scaleTau2"], rel=1e-14, abs=0)
    loc = scale_tau2(x, return_location=True).location
    assert loc == pytest.approx(rec["scaleTau2_mu"], rel=1e-14, abs=1e-300)
    fs = rec["scaleTau2_finiteSample"]
    assert scale_tau2(x, consistency="finite_sample") == pytest.approx(
        np.inf if fs is None else fs, rel=1e-14, abs=0)
    assert scale_tau2(x, consistency=False) == pytest.approx(rec["scaleTau2_no_consistency"],
                                                             rel=1e-14, abs=0)
    assert scale_tau2(x, iterations=True) == pytest.approx(rec["scaleTau2_iter_converged"],
                                                           rel=1e-13, abs=0)
    assert mad(x) == pytest.approx(rec["mad"], rel=1e-15, abs=0)


def _naive_qn0(x: np.ndarray) -> float:
    n = x.size
    i, j = np.triu_indices(n, 1)
    h = n // 2 + 1
    return float(np.sort(np.abs(x[i] - x[j]))[h * (h - 1) // 2 - 1])


def _naive_sn0(x: np.ndarray) -> float:
    n = x.size
    D = np.abs(x[:, None] - x[None, :])
    return float(np.sort(np.sort(D, axis=1)[:, n // 2])[(n + 1) // 2 - 1])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=2, max_size=90), st.integers(0, 2))
def test_qn_and_sn_equal_their_definition(values, decimals):
    # heavy ties and rounded decimals: the cases where the search has to be exact
    x = np.asarray(values, dtype=float) / 10 ** decimals
    assert qn(x, finite_correction=False) == pytest.approx(2.21914 * _naive_qn0(x), rel=1e-15,
                                                           abs=0)
    assert sn(x, finite_correction=False) == 1.1926 * _naive_sn0(x)


def _qn0_quadratic(y: np.ndarray, k: int) -> float:
    """The O(n^2) port of robustbase's qn0 with its float casts that covariance/_mcd_init.py
    used before (an n x n float32 table of the differences); kept here as the reference."""
    n = y.size
    D = (y[:, None] - y[None, :]).astype(np.float32)
    i_all = np.arange(n)
    left = n - i_all + 1
    right = np.where(i_all <= n // 2 + 1, n, n - (i_all - (n // 2 + 1)))
    nl, nr = n * (n + 1) // 2, n * n
    knew = k + nl
    while nr - nl > n:
        ii = i_all[1:][left[1:] <= right[1:]]
        weight = right[ii] - left[ii] + 1
        work = D[ii, n - (left[ii] + weight // 2)].astype(float)
        order = np.argsort(work, kind="stable")
        cw = np.cumsum(weight[order])
        trial = work[order][int(np.argmax(2 * cw > cw[-1]))]
        p = np.sum(D < trial, axis=1)
        q = n + 1 - np.sum(D > trial, axis=1)
        sump, sumq = int(p.sum()), int((q - 1).sum())
        if knew <= sump:
            right, nr = p, sump
        elif knew > sumq:
            left, nl = q, sumq
        else:
            return float(trial)
    work = np.concatenate([y[i] - y[n - np.arange(left[i], right[i] + 1)]
                           for i in range(1, n) if left[i] <= right[i]])
    knew -= nl + 1
    return float(np.partition(work, knew)[knew])


def test_fast_qn_equals_the_quadratic_port_and_speeds_up_mrcd():
    # The O(n log n) search gives what the O(n^2) port gave, float32 quirk included, at the
    # sizes where MRCD standardises (n = 1000: MRCD spent 28.7 of 28.9 s in the old Qn).
    rng = np.random.default_rng(3)
    X = np.round(rng.standard_normal((1000, 4)) * [1, 10, 100, 0.1], 2)
    X[:40] += 8
    for j in range(X.shape[1]):
        y = np.sort(X[:, j])
        h = y.size // 2 + 1
        old = 2.21914 * _qn0_quadratic(y, h * (h - 1) // 2)
        assert qn(X[:, j], exact=False, finite_correction=False) == old
    r = mh.covariance.mrcd(X)
    old_scales = [qn(X[:, j], exact=False) for j in range(4)]
    np.testing.assert_array_equal(r.standardization_scale, old_scales)


def test_scale_edge_cases_and_errors():
    assert qn([3.0]) == 0.0 and sn([3.0]) == 0.0
    for f in (qn, sn, mad):  # R gives NA; here an error, never a silent NaN (issue 12)
        with pytest.raises(ValueError, match="x is empty"):
            f([])
    assert qn([1.0, np.nan, 2.0, 5.0], nan_policy="omit") == qn([1.0, 2.0, 5.0])
    assert np.isnan(sn([1.0, np.nan], nan_policy="propagate"))
    assert np.isnan(qn([1.0, np.nan, 2.0], nan_policy="propagate"))
    assert qn([np.nan, 4.0], nan_policy="omit") == 0.0 == sn([4.0, np.inf], nan_policy="omit")
    with pytest.raises(ValueError, match="NaN"):
        qn([1.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="1-D"):
        sn(np.ones((3, 2)))
    with pytest.raises(ValueError, match="k must be"):
        qn([1.0, 2.0, 3.0], k=4)
    with pytest.raises(ValueError, match="consistency"):
        scale_tau2([1.0, 2.0], consistency="yes")
    assert scale_tau2(np.ones(5), return_location=True) == (1.0, 0.0)
    # a non-default k: robustbase's constant, no finite-sample factor
    x = np.arange(20.0) ** 1.5
    const = 1 / (np.sqrt(2) * stats.norm.ppf((9.5 / 190 + 1) / 2))
    assert qn(x, k=10) == pytest.approx(
        const * np.sort(np.abs(np.subtract.outer(x, x))[np.triu_indices(20, 1)])[9], rel=1e-14)


def test_row_kernels_equal_the_scalar_functions():
    rng = np.random.default_rng(5)
    M = rng.standard_normal((6, 41))
    M[2] = 1.0                                   # zero MAD
    M = np.vstack([M, rng.standard_normal((1, 41))])
    mu, s = tau2_rows(M)
    for r in range(M.shape[0]):
        ls = scale_tau2(M[r], return_location=True)
        assert s[r] == pytest.approx(ls.scale, rel=1e-14, abs=0)
        assert mu[r] == pytest.approx(ls.location, rel=1e-14, abs=1e-15)
    np.testing.assert_array_equal(median_rows(M[:, :40]), np.median(M[:, :40], axis=1))


def test_compiled_qn_selection_matches_numpy_schedule():
    from mahalanobis import _kernels, _scale

    if _kernels.C is None:
        pytest.skip("compiled kernels not built")
    rng = np.random.default_rng(11)
    for trial in range(300):
        n = int(rng.integers(2, 400))
        x = rng.standard_normal(n)
        if trial % 3 == 1:
            x = np.round(x, 1)            # many ties
        if trial % 3 == 2:
            x = x * 1e6 + 1e9             # single-precision rounding matters
        y = np.sort(x)
        h = n // 2 + 1
        for k in {max(1, h * (h - 1) // 2), int(rng.integers(1, n * (n - 1) // 2 + 1))}:
            for cast in (False, True):
                assert (_scale._qn_order_statistic(y, k, cast)
                        == _scale._qn_order_statistic_numpy(y, k, cast))


def test_qn_columns_equals_qn_of_each_column():
    from mahalanobis import _scale

    rng = np.random.default_rng(12)
    for n in (2, 3, 13, 50, 401):
        for A in (rng.standard_normal((n, 6)), np.round(rng.standard_normal((n, 6)))):
            for exact in (True, False):
                expected = [_scale.qn(A[:, j], exact=exact) for j in range(A.shape[1])]
                assert np.array_equal(_scale.qn_columns(A, exact=exact), expected)
