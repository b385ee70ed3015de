"""Tests for mahalanobis.covariance.mrcd against R's rrcov CovMrcd (tests/reference/data)."""

from __future__ import annotations

import numpy as np
import pytest

import mahalanobis as mh
from conftest import as_float as _arr
from conftest import load_reference, reference_names
from mahalanobis.covariance._rho import zeroin as _zeroin
from mahalanobis.covariance.mrcd import MRCDResult, mrcd

SETS = reference_names("mrcd")


@pytest.fixture(scope="module", params=SETS)
def dataset(request):
    return load_reference(f"mrcd_{request.param}")


def _check_fit(r, f, X):
    assert r.h == f["quan"]
    assert np.array_equal(np.flatnonzero(r.support), np.asarray(f["best"]) - 1)
    assert r.rho == pytest.approx(f["rho"], rel=1e-8)
    assert r.consistency == pytest.approx(f["c_alpha"], rel=1e-12)
    np.testing.assert_allclose(r.center, _arr(f["center"]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.diag(r.cov), _arr(f["cov_diag"]), rtol=1e-8)
    if f["cov"] is not None:
        C = _arr(f["cov"])
        np.testing.assert_allclose(r.cov, C, rtol=1e-8, atol=1e-8 * np.abs(C).max())
    np.testing.assert_allclose(np.diag(r.target), _arr(f["target_matrix_diag"]), rtol=1e-8)
    assert r.log_det == pytest.approx(f["crit"], rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(r.distance(X, squared=True), _arr(f["mah"]), rtol=1e-7)


def test_mrcd_with_rrcov_initial_subsets_matches_exactly(dataset):
    # Given rrcov's six starts, every later step (Qn standardisation, target, rho by R's
    # uniroot, C-steps, back-transformation) reproduces CovMrcd.
    X = _arr(dataset["X"])
    for f in dataset["fits"]:
        r = mrcd(X, support_fraction=f["alpha"], target=f["target"],
                 initial_subsets=np.asarray(f["initHsets"]) - 1, min_scale=1e-3)  # rrcov's
        _check_fit(r, f, X)
        np.testing.assert_allclose(r.initial_rhos, _arr(f["rho6pack"]), rtol=1e-9)
        np.testing.assert_allclose(r.standardization_scale, _arr(f["standardization_scale"]),
                                   rtol=1e-14)
        assert r.best_starts == tuple(int(i) - 1 for i in np.atleast_1d(f["iBest"]))


def test_mrcd_own_starts_match_rrcov_when_p_below_n():
    for name in ("hbk_x", "wood_x"):
        d = load_reference(f"mrcd_{name}")
        X = _arr(d["X"])
        for f in d["fits"]:
            r = mrcd(X, support_fraction=f["alpha"], target=f["target"])
            np.testing.assert_array_equal(r.initial_subsets,
                                          np.sort(np.asarray(f["initHsets"]) - 1, axis=1))
            _check_fit(r, f, X)


def test_mrcd_high_dimensional_is_well_conditioned():
    d = load_reference("mrcd_synthetic_p50")
    X = _arr(d["X"])                       # n = 30 < p = 50
    r = mh.fit(X, method="mrcd", support_fraction=0.75)
    assert isinstance(r, MRCDResult) and r.method == "mrcd"
    Z = r.cov / np.outer(r.standardization_scale, r.standardization_scale)
    assert np.linalg.cond(Z) <= 50 * (1 + 1e-6)
    assert 0 < r.rho < 1
    # the shifted rows 28-30 are far out
    d2 = r.distance(X, squared=True)
    assert np.all(d2[27:] > np.quantile(d2[:27], 0.9))
    assert "MRCDResult(" in repr(r)


def test_zeroin_is_brent_as_in_r():
    root = _zeroin(lambda x: x ** 3 - 2, 0.0, 2.0, -2.0, 6.0, 1e-12)
    assert root == pytest.approx(2 ** (1 / 3), abs=1e-11)


def test_mrcd_errors():
    X = np.random.default_rng(0).normal(size=(10, 20))
    with pytest.raises(ValueError, match="support_fraction"):
        mrcd(X, support_fraction=0.3)
    with pytest.raises(ValueError, match="target"):
        mrcd(X, target="diagonal")
    with pytest.raises(ValueError, match="initial_subsets"):
        mrcd(X, initial_subsets=np.zeros((2, 3), dtype=int))
