"""Accuracy on ill-conditioned scatter matrices against 60-digit mpmath references.

The fixture (tests/reference/illcond_mpmath.py) holds float64 covariances taken as exact, of two
kinds: "rotated" (intrinsic near-collinearity, condition 1e4..1e12) and "scaled" (a benign
correlation matrix with columns in wildly different units).
"""

import warnings

import numpy as np
import pytest

import mahalanobis as mh
from conftest import load_reference

CASES = load_reference("illcond")["cases"]


def _id(c):
    return f"{c['kind']}-p{c['p']}-cond{c['target_cond']:.0e}"


def _metric(case):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = mh.Metric(case["center"], case["cov"])
    return m, [w for w in rec if issubclass(w.category, mh.IllConditionedWarning)]


@pytest.mark.parametrize("case", [c for c in CASES if c["target_cond"] <= 1e8], ids=_id)
def test_relative_error_up_to_1e8(case):
    m, _ = _metric(case)
    d2 = m.distance(np.array(case["X"]), squared=True)
    ref = np.array([float(s) for s in case["d2_str"]])
    assert np.max(np.abs(d2 - ref) / ref) <= 1e-10
    assert m.log_det == pytest.approx(case["log_det"], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "rotated"
                                  and c["target_cond"] >= 1e12], ids=_id)
def test_warning_when_intrinsically_ill_conditioned(case):
    m, warned = _metric(case)
    assert warned, "expected an IllConditionedWarning"
    assert "ill-conditioned" in str(warned[0].message)
    # Even there, refinement keeps distances far better than cond * eps.
    d2 = m.distance(np.array(case["X"]), squared=True)
    ref = np.array([float(s) for s in case["d2_str"]])
    assert np.max(np.abs(d2 - ref) / ref) <= 1e-6


@pytest.mark.parametrize("case", [c for c in CASES if c["target_cond"] <= 1e8
                                  or c["kind"] == "scaled"], ids=_id)
def test_no_warning_below_threshold_or_for_column_scaling(case):
    _, warned = _metric(case)
    assert not warned


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "scaled"], ids=_id)
def test_column_scaling_costs_no_accuracy(case):
    m, _ = _metric(case)
    d2 = m.distance(np.array(case["X"]), squared=True)
    ref = np.array([float(s) for s in case["d2_str"]])
    assert np.max(np.abs(d2 - ref) / ref) <= 1e-13
    assert m.condition_number == pytest.approx(case["cond"], rel=1e-4)


@pytest.mark.parametrize("case", [c for c in CASES if c["target_cond"] == 1e8], ids=_id)
def test_precision_input_accuracy(case):
    """A metric given the exact precision computes the quadratic form directly."""
    import mpmath
    mpmath.mp.dps = 40
    P = mpmath.matrix(case["cov"]) ** -1
    Pf = np.array(P.tolist(), dtype=float)
    Pf = (Pf + Pf.T) / 2
    m = mh.Metric.from_precision(case["center"], Pf)
    X = np.array(case["X"])[:5]
    d2 = m.distance(X, squared=True)
    for i in range(X.shape[0]):
        v = mpmath.matrix((X[i] - np.array(case["center"])).tolist())
        exact = (v.T * mpmath.matrix(Pf.tolist()) * v)[0]
        assert abs(d2[i] - float(exact)) <= 1e-12 * float(exact)
