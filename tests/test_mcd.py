"""Tests for mahalanobis.covariance.mcd against R's robustbase (tests/reference/data)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mahalanobis as mh
from conftest import as_float as _arr
from conftest import load_reference as _load
from conftest import reference_names
from mahalanobis.covariance.mcd import (
    MCDResult,
    h_alpha_n,
    mcd,
    mcd_consistency,
    mcd_small_sample,
)
from mahalanobis.errors import ExactFitError

MCD_SETS = reference_names("mcd", exclude=("factors", "univariate"))


@pytest.fixture(scope="module", params=MCD_SETS)
def dataset(request):
    return _load(f"mcd_{request.param}")


def _fits(d, algorithm):
    return [f for f in d["fits"] if f["algorithm"] == algorithm]


def _close(a, b, rtol=1e-8):
    a, b = _arr(a), _arr(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))


# ------------------------------------------------------------------ R reference: DetMCD
def test_detmcd_matches_robustbase(dataset):
    X = _arr(dataset["X"])
    for f in _fits(dataset, "DetMCD"):
        r = mcd(X, support_fraction=f["alpha"], deterministic=True)
        assert r.h == f["quan"]
        assert np.array_equal(np.flatnonzero(r.support), np.asarray(f["best"]) - 1)
        _close(r.raw_center, f["raw.center"])
        _close(r.raw_cov, f["raw.cov"])
        _close(r.center, f["center"])
        _close(r.cov, f["cov_new_convention"])          # robustbase >= 0.99-0 convention
        assert r.log_det_raw == pytest.approx(f["crit"], rel=1e-10, abs=1e-10)
        assert np.array_equal(r.weights, np.asarray(f["raw.weights"]) == 1)
        _close(r.raw_distances, f["raw.mah"])
        _close(r.distance(X, squared=True), f["mah_new_convention"])
        assert (r.consistency_raw, r.small_sample_raw) == pytest.approx(f["raw.cnp2"])
        assert (r.consistency_rew, r.small_sample_rew) == pytest.approx(f["cnp2_new_convention"])
        assert r.best_starts == tuple(int(i) - 1 for i in np.atleast_1d(f["iBest"]))


def test_old_reweighting_convention_is_a_rescaling(dataset):
    # robustbase 0.95-0 used .MCDcons(p, sum(w)/n); ours differs by exactly that factor.
    X = _arr(dataset["X"])
    f = _fits(dataset, "DetMCD")[0]
    r = mcd(X, support_fraction=f["alpha"], deterministic=True)
    p, n = X.shape[1], X.shape[0]
    old = mcd_consistency(p, r.weights.sum() / n) * r.small_sample_rew
    _close(r.cov / (r.consistency_rew * r.small_sample_rew) * old, f["cov"])


# ------------------------------------------------------------------ R reference: FastMCD
def test_fastmcd_objective_no_worse_than_robustbase(dataset):
    X = _arr(dataset["X"])
    for f in _fits(dataset, "FastMCD"):
        # FastMCD is randomised (so was R's fit, with set.seed(1)): best of 5 seeds.
        r = min((mcd(X, support_fraction=f["alpha"], random_state=s) for s in range(5)),
                key=lambda r: r.log_det_raw)
        assert r.log_det_raw <= f["crit"] + 1e-9
        # objective is log det of the uncorrected subset covariance, like robustbase's crit
        S = np.cov(X[r.support], rowvar=False)
        assert r.log_det_raw == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12, abs=1e-12)
        if r.log_det_raw == pytest.approx(f["crit"], abs=1e-9):
            _close(r.cov, f["cov_new_convention"])


def test_fastmcd_flags_the_planted_outliers():
    d = _load("mcd_synthetic")
    X = _arr(d["X"])
    planted = np.zeros(X.shape[0], dtype=bool)
    planted[np.asarray(d["outlier_rows"]) - 1] = True
    for f in _fits(d, "FastMCD"):
        r = mcd(X, support_fraction=f["alpha"], random_state=0)
        r_flags = np.asarray(f["mcd.wt_new_convention"]) == 0
        ours = r.outliers(X)
        assert np.all(ours[planted]) and np.all(r_flags[planted])
        assert np.array_equal(ours, r_flags)


def test_exact_global_optimum_found():
    for name in ("stackloss", "wood_x"):
        d = _load(f"mcd_{name}")
        X = _arr(d["X"])
        for e in d["exact"]:
            r = mcd(X, support_fraction=e["alpha"], random_state=3)
            assert r.log_det_raw == pytest.approx(e["crit"], abs=1e-9)


# ------------------------------------------------------------------ factors and h
def test_factors_match_robustbase():
    d = _load("mcd_factors")
    for rec in d["MCDcons"]:
        assert mcd_consistency(rec["p"], rec["alpha"]) == pytest.approx(rec["value"], rel=1e-12)
    for rec in d["MCDcnp2"] + d["MCDcnp2_table_cases"]:
        p, n, a = rec["p"], rec["n"], rec["alpha"]
        assert mcd_small_sample(p, n, a) == pytest.approx(rec["cnp2"], rel=1e-12)
        assert mcd_small_sample(p, n, a, reweighted=True) == pytest.approx(rec["cnp2_rew"],
                                                                          rel=1e-12)


def test_h_alpha_n_matches_robustbase():
    for rec in _load("h_alpha_n")["records"]:
        assert h_alpha_n(rec["alpha"], rec["n"], rec["p"]) == rec["h"]


# ------------------------------------------------------------------ p = 1
def test_univariate_shortest_half_matches_robustbase():
    for ds in _load("mcd_univariate")["datasets"]:
        x = _arr(ds["x"])[:, None]
        for f in ds["fits"]:
            if not f["reference_ok"]:
                continue  # robustbase 0.95-0's DetMCD is wrong for p = 1 (README)
            for det in (False, True):
                r = mcd(x, support_fraction=f["alpha"], deterministic=det)
                assert r.algorithm == "univariate" and r.h == f["quan"]
                _close(r.raw_center, f["raw.center"], 1e-12)
                _close(r.raw_cov.ravel(), np.ravel(f["raw.cov"]), 1e-10)
                _close(r.center, f["center"], 1e-12)
                _close(r.cov.ravel(), np.ravel(f["cov_new_convention"]), 1e-10)
                assert r.log_det_raw == pytest.approx(f["crit"], rel=1e-12)
                win = np.sort(x[r.support, 0])
                _close(win, f["exact_window_sorted_values"], 1e-14)


# ------------------------------------------------------------------ properties
def _contaminated(n=200, p=3, frac=0.1, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p))
    X = rng.normal(size=(n, p)) @ A.T
    k = int(frac * n)
    X[:k] += 8.0
    return X


def _check_equivariant(X, Y, A, b, det):
    r1 = mcd(X, deterministic=det, random_state=7)
    r2 = mcd(Y, deterministic=det, random_state=7)
    assert np.array_equal(r1.support, r2.support)
    assert np.array_equal(r1.weights, r2.weights)
    np.testing.assert_allclose(r2.center, A @ r1.center + b, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(r2.cov, A @ r1.cov @ A.T, rtol=1e-9, atol=1e-9)
    assert r2.log_det_raw == pytest.approx(r1.log_det_raw
                                           + 2 * np.log(abs(np.linalg.det(A))), abs=1e-9)


def test_fastmcd_affine_equivariance():
    X = _contaminated()
    rng = np.random.default_rng(5)
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    b = np.array([10.0, -3.0, 0.5])
    _check_equivariant(X, X @ A.T + b, A, b, det=False)


def test_detmcd_equivariance_under_scaling_permutation_shift():
    # DetMCD's starts use coordinatewise medians / Qn, so it is equivariant under
    # translation, permutation and scaling of the variables, not under general affine maps
    # (Hubert, Rousseeuw & Verdonck 2012, Sect. 3.3).
    X = _contaminated()
    A = np.diag([1e-2, 3.0, 1e3])[[2, 0, 1]]
    b = np.array([10.0, -3.0, 0.5])
    _check_equivariant(X, X @ A.T + b, A, b, det=True)


def test_column_rescaling_keeps_weights():
    X = _contaminated(seed=2)
    s = np.array([1e-3, 1.0, 1e4])
    for det in (True, False):
        r1 = mcd(X, deterministic=det, random_state=11)
        r2 = mcd(X * s, deterministic=det, random_state=11)
        assert np.array_equal(r1.weights, r2.weights)
        assert np.array_equal(r1.support, r2.support)


def test_breakdown_45_percent_adversarial():
    rng = np.random.default_rng(3)
    n, p = 200, 2
    X = rng.normal(size=(n, p))
    k = int(0.45 * n)
    X[:k] = rng.normal(scale=0.01, size=(k, p)) + np.array([1e3, -1e3])  # a tight far cluster
    for det in (True, False):
        r = mcd(X, deterministic=det, random_state=0)
        assert np.linalg.norm(r.center) < 1.0
        assert np.all(~r.weights[:k])
        assert np.linalg.eigvalsh(r.cov).max() < 5.0
    assert np.linalg.norm(X.mean(axis=0)) > 500


@pytest.mark.parametrize("n,p", [(400, 2), (600, 5), (1000, 3)])
def test_calibration_on_clean_normal_data(n, p):
    # share of reweighted-MCD D^2 above chi2_{p,0.975}, pooled over 4 samples (one sample's
    # binomial noise alone is +-1.3 points at n = 600)
    rates = []
    for rep in range(4):
        X = np.random.default_rng(100 * n + 10 * p + rep).normal(size=(n, p))
        r = mcd(X, random_state=rep)
        rates.append(np.mean(r.distance(X, squared=True) > stats.chi2.ppf(0.975, p)))
    assert 0.01 <= np.mean(rates) <= 0.04


def test_same_seed_same_result_and_generator():
    X = _contaminated(n=700, p=4, seed=9)   # n >= 600: the nested-subgroup path
    a = mcd(X, random_state=42)
    b = mcd(X, random_state=np.random.default_rng(42))
    assert np.array_equal(a.support, b.support)
    np.testing.assert_array_equal(a.cov, b.cov)
    assert a.log_det_raw <= mcd(X, deterministic=True).log_det_raw + 0.05


def test_result_object_and_fit_dispatch():
    X = _contaminated(n=120, p=3, seed=4)
    r = mh.fit(X, method="mcd", random_state=0)
    assert isinstance(r, MCDResult) and isinstance(r, mh.Metric)
    assert r.method == "mcd" and r.n_samples == 120 and r.support.sum() == r.h
    assert "MCDResult(" in repr(r) and "h=" in repr(r)
    raw = mcd(X, random_state=0, reweight=False)
    np.testing.assert_array_equal(raw.cov, raw.raw_cov)
    np.testing.assert_array_equal(raw.cov, r.raw_cov)
    with pytest.raises(ValueError):
        r.support[0] = False
    nc = mcd(X, random_state=0, correction=False)
    assert nc.small_sample_raw == 1.0 and nc.small_sample_rew == 1.0
    np.testing.assert_allclose(nc.raw_cov * r.small_sample_raw, r.raw_cov, rtol=1e-12)


def test_support_fraction_one_is_classical_then_reweighted():
    X = _contaminated(n=100, p=2, seed=1)
    r = mcd(X, support_fraction=1)
    assert r.h == 100 and r.support.all()
    np.testing.assert_allclose(r.raw_cov, np.cov(X, rowvar=False), rtol=1e-12)


def test_nan_policy_omit():
    X = _contaminated(n=80, p=2, seed=1)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="nan_policy"):
        mcd(X)
    # Like every estimator, the fit records the dropped rows in .omitted (no warning).
    r = mcd(X, nan_policy="omit", random_state=0)
    assert r.n_samples == 79 and list(r.omitted) == [3]
    np.testing.assert_allclose(r.raw_cov, mcd(np.delete(X, 3, axis=0), random_state=0).raw_cov)


# ------------------------------------------------------------------ errors
def test_exact_fit_on_a_plane_reports_the_hyperplane():
    rng = np.random.default_rng(0)
    n = 60
    X = rng.normal(size=(n, 3))
    on = np.zeros(n, dtype=bool)
    on[:40] = True                       # 40 >= h = 32 points on x3 = 2 x1 - x2 + 1
    X[on, 2] = 2 * X[on, 0] - X[on, 1] + 1
    X[~on] *= 5
    expected = np.array([2.0, -1.0, -1.0]) / np.sqrt(6)
    for det in (False, True):
        with pytest.raises(ExactFitError, match="hyperplane") as ei:
            mcd(X, deterministic=det, random_state=0)
        e = ei.value
        assert np.allclose(e.hyperplane, expected, atol=1e-8)
        assert e.offset == pytest.approx(-1 / np.sqrt(6), abs=1e-8)
        assert np.array_equal(e.on_hyperplane, on)


def test_exact_fit_constant_column():
    X = np.random.default_rng(1).normal(size=(30, 3))
    X[:, 1] = 4.0
    with pytest.raises(ExactFitError, match="column 1") as ei:
        mcd(X)
    assert np.array_equal(ei.value.hyperplane, [0.0, 1.0, 0.0])
    assert ei.value.offset == 4.0 and ei.value.on_hyperplane.all()


def test_too_few_rows_suggests_alternatives():
    X = np.random.default_rng(0).normal(size=(5, 8))
    with pytest.raises(ValueError, match=r"mrcd.*ledoit_wolf.*modified_cholesky"):
        mcd(X)


@pytest.mark.parametrize("support_fraction", [0.4, 1.2, "x", np.nan])
def test_bad_support_fraction(support_fraction):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="support_fraction"):
        mcd(X, support_fraction=support_fraction)


def test_bad_n_starts():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="n_starts"):
        mcd(X, n_starts=0)


def test_progress_bar_runs():
    pytest.importorskip("tqdm")
    X = _contaminated(n=700, p=3, seed=0)
    r = mcd(X, random_state=0, progress=True)
    assert r.log_det_raw == mcd(X, random_state=0).log_det_raw
